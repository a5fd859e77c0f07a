package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/lists"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/reports"
	"github.com/creditexchange/node/schemas"
)

// demoListEntry is the list entry the demo seeds at market-reg for sme.
func demoListEntry(sme devnet.SME, now time.Time) (records.Record, error) {
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	e := lists.Entry{
		List: "seriously_untrustworthy", ListName: "Product quality", Basis: "Product Quality Law art. 49; decision MR-Q-17",
		Authority: "Administration for Market Regulation", DecisionNo: "MR-Q-17",
		DecidedOn: day(now.AddDate(0, -1, 0)), ListedOn: day(now.AddDate(0, -1, 0)),
		Measures: []lists.Measure{
			{Code: "procurement_ban", Description: "excluded from government procurement", Until: day(now.AddDate(3, 0, 0))},
			{Code: "intensified_inspection", Description: "inspected at a higher ratio in random inspections"},
		},
		PublicationEnd:    day(now.AddDate(3, 0, 0)),
		RemovalConditions: "rectify, sign a credit commitment, and apply for repair after 1 year",
		Objection:         "object to the Administration for Market Regulation within 15 days; appeal under the Administrative Reconsideration Law",
	}
	b, err := json.Marshal(e)
	if err != nil {
		return records.Record{}, err
	}
	return records.Record{Subject: sme.USCC, Category: lists.Category, ID: "list-q17", Data: b, UpdatedAt: now.UTC()}, nil
}

// demoReport: the SME authorises bank-a to assemble a verifiable report from
// tax-dept and market-reg; anyone holding the registry verifies it offline,
// and a tampered copy fails.
func (a *app) demoReport(ctx context.Context, t *transcript, net *devnet.Network, bank *node.Node, subj *devnet.Subject, sme devnet.SME, dir string) error {
	t.step("The SME authorises bank-a to assemble a verifiable credit report from tax-dept and market-reg")
	cats := []string{"tax_payment", "social_insurance", "registration"}
	tok, id, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", cats, []string{"tax-dept", "market-reg"}, 24*time.Hour, 1)
	if err != nil {
		return err
	}
	t.say("consent %s: loan_approval, %s, at tax-dept and market-reg, 1 use", id, strings.Join(cats, ", "))
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		return err
	}
	asm, err := reports.NewAssembler(reports.AssemblerOptions{ID: "bank-a", Signer: bank.Keys.Signer, KID: bank.Keys.SigningKID,
		Querier: bank.Client, Negative: cv.Negative})
	if err != nil {
		return err
	}
	rep, claims, err := asm.Build(ctx, reports.Request{Subject: sme.USCC, Purpose: "loan_approval", Consent: tok, ValidFor: 30 * 24 * time.Hour,
		Parts: []reports.PartRequest{{Provider: "tax-dept", Categories: cats[:2]}, {Provider: "market-reg", Categories: cats[2:]}}})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	path := filepath.Join(dir, "report.jws")
	if err := os.WriteFile(path, rep, 0o600); err != nil {
		return err
	}
	t.say("report %s signed by bank-a (%d bytes, %s): each part is the provider's own signed answer", short(claims.ID), len(rep), path)

	t.step("A procurement office verifies the report offline against the signed registry")
	regTok, err := os.ReadFile(net.RegistryPath())
	if err != nil {
		return err
	}
	authority := net.Authority.Public().(ed25519.PublicKey)
	got, reg, err := reports.VerifyOffline(rep, regTok, authority, time.Now(), cv.Negative)
	if err != nil {
		return fmt.Errorf("verify report: %w", err)
	}
	var sb strings.Builder
	printReport(&sb, got, reg)
	for _, line := range strings.Split(strings.TrimRight(sb.String(), "\n"), "\n") {
		t.say("%s", line)
	}
	tampered := bytes.Clone(rep)
	i := len(tampered) - 3 // a signature character
	tampered[i] = map[bool]byte{true: 'B', false: 'A'}[tampered[i] == 'A']
	_, _, err = reports.VerifyOffline(tampered, regTok, authority, time.Now(), cv.Negative)
	t.say("a copy with one changed signature byte: REJECTED (%v)", err)
	_, _, err = reports.VerifyOffline(rep, regTok, authority, time.Now().Add(31*24*time.Hour), cv.Negative)
	t.say("the same report after its validity: REJECTED (%v)", err)
	return nil
}

// demoJointPunishment: tax-dept, before granting a subsidy, checks two SMEs
// against every provider's lists.
func (a *app) demoJointPunishment(ctx context.Context, t *transcript, net *devnet.Network, clean, listed devnet.SME) error {
	t.step("tax-dept runs joint punishment checks (purpose joint_punishment_check) across the federation")
	tax, err := node.Open(ctx, net.NodeDir("tax-dept"), discardLogger())
	if err != nil {
		return err
	}
	defer tax.Close()
	checker := &lists.Checker{Querier: tax.Client}
	for _, s := range []devnet.SME{listed, clean} {
		out, err := checker.Check(ctx, s.USCC, []string{"market-reg"})
		if err != nil {
			return err
		}
		var sb strings.Builder
		_ = printOutcome(&sb, out) // the transcript shows the verdict; the demo goes on either way
		for _, line := range strings.Split(strings.TrimRight(sb.String(), "\n"), "\n") {
			t.say("%s", line)
		}
	}
	t.say("each check was logged by market-reg before it answered; removal after credit repair ends the measures")
	return nil
}
