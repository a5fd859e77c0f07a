package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/schemas"
)

// The demo federation: a bank, a tax department, and a market-regulation
// department that is also the registrar of subjects.
func demoSpecs() []devnet.Spec {
	return []devnet.Spec{
		{ID: "bank-a", Organisation: "Bank A (SME lending)", USCC: "91110000100000016D", Roles: []string{"bank"}},
		{ID: "tax-dept", Organisation: "Municipal Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"tax_payment": "authorised", "social_insurance": "authorised"}},
		{ID: "market-reg", Organisation: "Administration for Market Regulation", USCC: "11110000000017232M", Roles: []string{"department", "registrar"},
			Catalog: map[string]string{"registration": "public", "administrative_penalty": "shared", "abnormal_operation": "shared", "untrustworthy_list": "shared"}},
	}
}

func (a *app) demoCmd() *cobra.Command {
	var keep string
	var portal bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start three nodes on loopback and walk through authorised, denied, replayed and revoked queries",
		Long: `demo creates a federation in a temporary directory (authority key, development CA, three node
directories with their own keys and certificates, a signed registry), seeds records for several SMEs,
starts the three nodes as separate processes, and prints a transcript of: an authorised loan_approval
query, the same query without consent, a replayed request, a query after the subject revoked its consent,
and the subject reading its own inquiry log.
--portal then keeps the federation running with the subject portal enabled, and prints its address and
the demo subject's key file, until Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDemo(cmd.Context(), keep, portal)
		},
	}
	cmd.Flags().BoolVar(&portal, "portal", false, "keep the federation running with the subject portal and print its address, until Ctrl-C")
	cmd.Flags().StringVar(&keep, "keep", "", "build the network in this directory and keep it, with the SME's key, certificate and a fresh consent, and print commands to go on by hand (default: a temporary directory, removed)")
	return cmd
}

// transcript prints the demo's numbered steps.
type transcript struct {
	w io.Writer
	n int
}

func (t *transcript) step(format string, args ...any) {
	t.n++
	fmt.Fprintf(t.w, "\n== %d. %s\n", t.n, fmt.Sprintf(format, args...))
}

func (t *transcript) say(format string, args ...any) { fmt.Fprintf(t.w, "   "+format+"\n", args...) }

func (a *app) runDemo(ctx context.Context, keep string, portal bool) error {
	dir, cleanup, err := workDir(keep, "creditnode-demo-")
	if err != nil {
		return err
	}
	defer cleanup()
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	t := &transcript{w: a.out}
	fmt.Fprintln(a.out, "Credit Exchange Node — demo federation on loopback")

	t.step("Create the federation in %s", dir)
	net, err := devnet.Create(dir, demoSpecs())
	if err != nil {
		return err
	}
	reg, err := net.Registry()
	if err != nil {
		return err
	}
	for _, m := range reg.Members {
		t.say("%-10s %-38s roles=%-22s api=%s  tls=%s…", m.ID, m.Organisation, strings.Join(m.Roles, ","), m.Endpoint, m.TLSCertSHA256[:16])
	}
	t.say("registry signed by the federation authority; CA and node certificates issued; keys are mode 0600")

	t.step("Seed provider records")
	smes, err := devnet.DemoSMEs(4)
	if err != nil {
		return err
	}
	now := time.Now()
	if err := net.ImportRecords(ctx, "tax-dept", devnet.TaxRecords(smes, now)); err != nil {
		return err
	}
	if err := net.ImportRecords(ctx, "market-reg", devnet.RegistrationRecords(smes, now)); err != nil {
		return err
	}
	listEntry, err := demoListEntry(smes[3], now)
	if err != nil {
		return err
	}
	if err := net.ImportRecords(ctx, "market-reg", []records.Record{listEntry}); err != nil {
		return err
	}
	for _, s := range smes {
		t.say("%s  %s", s.USCC, s.Name)
	}
	t.say("tax-dept: tax_payment, social_insurance (authorised); market-reg: registration (public)")
	t.say("market-reg also holds a list entry for %s (untrustworthy_list, shared)", smes[3].USCC)

	if portal {
		if err := enableDemoPortal(net); err != nil {
			return err
		}
	}
	loanSystem, err := prepareDemoLoanSystem(net, filepath.Join(dir, "loan-system"))
	if err != nil {
		return err
	}
	t.step("Start three node processes")
	logPath := filepath.Join(dir, "nodes.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	var procs []*devnet.Process
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for _, s := range net.Specs {
		p, err := net.Start(ctx, bin, s.ID, logFile)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		t.say("%-10s pid %d", s.ID, p.Cmd.Process.Pid)
	}
	t.say("node logs (JSON): %s", logPath)

	sme := smes[0]
	t.step("The registrar market-reg certifies the key of %s (%s)", sme.Name, sme.USCC)
	subj, err := net.EnrolSubject("market-reg", sme.USCC)
	if err != nil {
		return err
	}
	t.say("subject certificate: %d-byte JWS signed by market-reg", len(subj.Cert))

	t.step("The SME authorises bank-a: loan_approval, tax_payment + social_insurance, at tax-dept, 3 uses")
	consentTok, consentID, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", []string{"tax_payment", "social_insurance"}, []string{"tax-dept"}, 30*24*time.Hour, 3)
	if err != nil {
		return err
	}
	t.say("consent %s (signed by the SME's key)", consentID)

	bank, err := node.Open(ctx, net.NodeDir("bank-a"), discardLogger())
	if err != nil {
		return err
	}
	defer bank.Close()
	q := peer.Query{Provider: "tax-dept", Subject: sme.USCC, Purpose: "loan_approval", Categories: []string{"tax_payment", "social_insurance"}, Consent: consentTok}

	t.step("bank-a queries tax-dept with the consent")
	firstID := peer.NewRequestID()
	firstTok, err := bank.Client.Sign(q, firstID)
	if err != nil {
		return err
	}
	res, err := bank.Client.Send(ctx, q, firstID, firstTok)
	if err != nil {
		return fmt.Errorf("authorised query failed: %w", err)
	}
	r := res.Response
	t.say("ALLOWED  decision %s  reasons=%s  policy %s", short(r.Decision.ID), strings.Join(r.Decision.Reasons, ","), short(r.Decision.PolicyRevision))
	t.say("response signed by tax-dept, encrypted to bank-a (ECDH-ES+A256KW/A256GCM), verified and decrypted")
	for cat, fields := range r.Decision.Fields {
		t.say("fields allowed for %s: %s", cat, strings.Join(fields, ", "))
	}
	for _, rec := range r.Records {
		t.say("%-17s %-10s %s", rec.Category, rec.ID, string(rec.Data))
	}
	t.say("declared_revenue is held by tax-dept but not allowed for loan_approval: it never left")
	t.say("receipt: tax-dept log index %d, records digest %s…; bank-a outbound log index %d", r.Receipt.LogIndex, r.Receipt.RecordsDigest[:16], res.OutboundIndex)

	t.step("The same query without the consent")
	noConsent := q
	noConsent.Consent = ""
	_, err = bank.Client.Query(ctx, noConsent)
	t.say("DENIED   %s", describe(err))

	t.step("A replay of the first request (identical signed token)")
	_, err = bank.Client.Send(ctx, q, firstID, firstTok)
	t.say("DENIED   %s", describe(err))

	t.step("The SME revokes its consent at tax-dept")
	sc := &peer.SubjectClient{Key: subj.Key, Cert: subj.Cert, HTTP: peer.NewSubjectHTTPClient(net.CA.Pool())}
	if sc.Registry, err = loadRegistry(net); err != nil {
		return err
	}
	taxPublic := memberPublic(reg, "tax-dept")
	rv, err := sc.Revoke(ctx, taxPublic, "tax-dept", consentID)
	if err != nil {
		return err
	}
	t.say("revocation stored and logged at tax-dept (log index %d)", rv.LogIndex)

	t.step("bank-a queries again with the revoked consent (a fresh request)")
	_, err = bank.Client.Query(ctx, q)
	t.say("DENIED   %s", describe(err))

	t.step("The SME reads its inquiry log at tax-dept")
	log, err := sc.Inquiries(ctx, taxPublic, "tax-dept")
	if err != nil {
		return err
	}
	var sb strings.Builder
	printInquiries(&sb, log)
	for _, line := range strings.Split(strings.TrimRight(sb.String(), "\n"), "\n") {
		t.say("%s", line)
	}
	t.say("every query above is there, allowed or denied, with who asked, when and why")

	if err := a.demoReport(ctx, t, net, bank, subj, sme, dir); err != nil {
		return err
	}
	if err := a.demoJointPunishment(ctx, t, net, sme, smes[3]); err != nil {
		return err
	}
	if err := a.demoLoanSystem(ctx, t, loanSystem, subj, sme); err != nil {
		return err
	}

	if keep != "" {
		if err := keepForHand(t, net, reg, subj, sme, dir); err != nil {
			return err
		}
	}
	if portal {
		return a.demoPortal(ctx, t, net, reg, subj)
	}
	fmt.Fprintln(a.out, "\ndemo complete")
	return nil
}

// keepForHand writes, into the kept directory, what a user needs to go on
// by hand as the SME: its key and certificate and a fresh consent for
// bank-a (the demo's own was revoked), and prints the next commands to try.
func keepForHand(t *transcript, net *devnet.Network, reg *schemas.Registry, subj *devnet.Subject, sme devnet.SME, dir string) error {
	t.step("Kept for you in %s: the nodes, and the SME's key, certificate and a fresh consent", dir)
	pemKey, err := keys.MarshalSigningKey(subj.Key)
	if err != nil {
		return err
	}
	keyFile, certFile, consentFile := filepath.Join(dir, "sme.key"), filepath.Join(dir, "sme.cert"), filepath.Join(dir, "consent.jws")
	if err := keys.WritePrivateFile(keyFile, pemKey); err != nil {
		return err
	}
	if err := os.WriteFile(certFile, subj.Cert, 0o644); err != nil {
		return err
	}
	tok, id, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", []string{"tax_payment", "social_insurance"}, []string{"tax-dept"}, 30*24*time.Hour, 3)
	if err != nil {
		return err
	}
	if err := os.WriteFile(consentFile, []byte(tok), 0o644); err != nil {
		return err
	}
	t.say("%s  the SME's private key (mode 0600)", keyFile)
	t.say("%s  its certificate from market-reg", certFile)
	t.say("%s  consent %s: bank-a, loan_approval, tax_payment + social_insurance at tax-dept, 3 uses", consentFile, id)
	trust := fmt.Sprintf("--ca %s --registry %s --authority %s", filepath.Join(dir, devnet.CACertFile), filepath.Join(dir, devnet.RegistryFile), filepath.Join(dir, devnet.AuthorityJWK))
	fmt.Fprintf(t.w, "\nNext, by hand (the nodes have stopped; start tax-dept first):\n")
	for _, c := range []string{
		fmt.Sprintf("creditnode serve --dir %s &", net.NodeDir("tax-dept")),
		fmt.Sprintf("creditnode query --dir %s --provider tax-dept --subject %s --purpose loan_approval --categories tax_payment,social_insurance --consent %s", net.NodeDir("bank-a"), sme.USCC, consentFile),
		fmt.Sprintf("creditnode subject inquiries --key %s --cert %s --node %s --provider tax-dept %s", keyFile, certFile, memberPublic(reg, "tax-dept"), trust),
		fmt.Sprintf("creditnode consent revoke --key %s --cert %s --consent %s --node %s --provider tax-dept %s", keyFile, certFile, consentFile, memberPublic(reg, "tax-dept"), trust),
		fmt.Sprintf("creditnode log verify --dir %s", net.NodeDir("tax-dept")),
	} {
		fmt.Fprintf(t.w, "  %s\n", c)
	}
	return nil
}

func describe(err error) string {
	var e *schemas.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("code=%s  %s", e.Code, e.Message)
	}
	if err == nil {
		return "unexpectedly allowed"
	}
	return err.Error()
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func memberPublic(reg *schemas.Registry, id string) string {
	for _, m := range reg.Members {
		if m.ID == id {
			return m.PublicEndpoint
		}
	}
	return ""
}

func loadRegistry(net *devnet.Network) (*registry.Registry, error) {
	tok, err := os.ReadFile(net.RegistryPath())
	if err != nil {
		return nil, err
	}
	return registry.Verify(tok, net.Authority.Public().(ed25519.PublicKey), time.Now())
}

// discardLogger keeps the in-process bank client quiet: the transcript says
// what happens, and the node processes log to nodes.log.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// workDir is keep, or a new temporary directory removed by cleanup.
func workDir(keep, pattern string) (dir string, cleanup func(), err error) {
	if keep != "" {
		return keep, func() {}, os.MkdirAll(keep, 0o700)
	}
	tmp, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}
