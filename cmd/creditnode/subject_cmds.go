package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/schemas"
)

// subjectFlags are the flags a subject uses to reach a provider.
type subjectFlags struct {
	key, cert, node, provider, ca, registry, authority string
}

func (f *subjectFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "subject.key", "subject private key")
	fl.StringVar(&f.cert, "cert", "subject.cert", "subject certificate issued by a registrar")
	fl.StringVar(&f.node, "node", "", "provider's public API URL (https://…)")
	fl.StringVar(&f.provider, "provider", "", "provider member id")
	fl.StringVar(&f.ca, "ca", "ca.crt", "federation CA certificate")
	fl.StringVar(&f.registry, "registry", "registry.jws", "signed federation registry (to verify the provider's signature)")
	fl.StringVar(&f.authority, "authority", "authority.jwk", "federation authority public JWK")
	cmd.MarkFlagRequired("node")
	cmd.MarkFlagRequired("provider")
}

func (f *subjectFlags) client() (*peer.SubjectClient, error) {
	priv, err := keys.LoadSigningKey(f.key)
	if err != nil {
		return nil, err
	}
	cert, err := os.ReadFile(f.cert)
	if err != nil {
		return nil, err
	}
	pool, err := certs.LoadPool(f.ca)
	if err != nil {
		return nil, err
	}
	auth, err := registry.LoadAuthorityPublic(f.authority)
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(f.registry)
	if err != nil {
		return nil, err
	}
	reg, err := registry.Verify(tok, auth, time.Now())
	if err != nil {
		return nil, err
	}
	return &peer.SubjectClient{Key: priv, Cert: cert, Registry: reg, HTTP: peer.NewSubjectHTTPClient(pool)}, nil
}

func (a *app) subjectCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "subject", Short: "Subject tools: keys, enrolment, reading your inquiry log"}

	var keyOut string
	keygen := &cobra.Command{
		Use:   "keygen --out subject.key",
		Short: "Create a subject key pair (the public JWK goes to OUT.jwk)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, err := consent.GenerateSubjectKey()
			if err != nil {
				return err
			}
			pemBytes, err := keys.MarshalSigningKey(priv)
			if err != nil {
				return err
			}
			if err := keys.WritePrivateFile(keyOut, pemBytes); err != nil {
				return err
			}
			jwk, _ := json.Marshal(keys.SigningJWK(priv.Public().(ed25519.PublicKey)))
			if err := os.WriteFile(keyOut+".jwk", append(jwk, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "wrote %s (private, mode 0600) and %s.jwk (public)\n", keyOut, keyOut)
			return nil
		},
	}
	keygen.Flags().StringVar(&keyOut, "out", "subject.key", "private key file to create")

	var enrolDir, enrolSubject, enrolPub, enrolOut string
	var enrolValidity time.Duration
	var enrolReplace bool
	enrol := &cobra.Command{
		Use:   "enrol --dir REGISTRAR_DIR --subject USCC --pub subject.key.jwk --out subject.cert",
		Short: "As a registrar, certify that a subject id holds a public key",
		Long: `enrol is run by the operator of a node with the registrar role, after checking the subject's
identity out of band. It signs a subject certificate binding the USCC (or person:ID) to the key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nk, err := keys.Load(enrolDir)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(enrolDir)
			if err != nil {
				return err
			}
			if !cfg.HasRole("registrar") {
				return fmt.Errorf("node %s does not hold the registrar role", cfg.ID)
			}
			jwk, err := os.ReadFile(enrolPub)
			if err != nil {
				return err
			}
			pub, _, err := keys.ParseSigningJWK(jwk)
			if err != nil {
				return err
			}
			id, typ, err := records.NormalizeSubject(enrolSubject)
			if err != nil {
				return err
			}
			earlier, err := otherKeyCerts(enrolDir, id, keys.SigningKID(pub))
			if err != nil {
				return err
			}
			if len(earlier) > 0 && !enrolReplace {
				return fmt.Errorf("%s already holds certificate %s from this registrar for another key (kid %s); "+
					"pass --replace to certify the new key, then revoke the earlier certificate with `subject revoke-cert`",
					id, earlier[0].ID, earlier[0].KeyID)
			}
			now := time.Now()
			cert, err := consent.IssueSubjectCert(nk.Signer, cfg.ID, nk.SigningKID, id, typ, pub, enrolValidity, now)
			if err != nil {
				return err
			}
			sc, err := consent.VerifySubjectCert(cert, ownRegistrarKey{id: cfg.ID, kid: nk.SigningKID, key: nk.SigningPublic()}, now, 0)
			if err != nil {
				return err
			}
			if err := os.WriteFile(enrolOut, cert, 0o644); err != nil {
				return err
			}
			if err := node.RecordIssuedSubjectCert(enrolDir, node.IssuedSubjectCert{ID: sc.Claims.ID, Subject: sc.Claims.Subject,
				KeyID: sc.KeyID(), IssuedAt: sc.Claims.IssuedAt, Expiry: sc.Claims.Expiry}); err != nil {
				return fmt.Errorf("wrote %s but could not record it: %w", enrolOut, err)
			}
			for _, e := range earlier {
				fmt.Fprintf(a.errOut, "warning: %s still holds certificate %s for key %s; revoke it: creditnode subject revoke-cert --dir %s --cert CERT_FILE\n",
					id, e.ID, e.KeyID, enrolDir)
			}
			fmt.Fprintf(a.out, "certified %s (%s) as registrar %s\n", id, typ, cfg.ID)
			return nil
		},
	}
	enrol.Flags().StringVar(&enrolDir, "dir", "", "registrar node directory")
	enrol.Flags().StringVar(&enrolSubject, "subject", "", "subject id: a USCC or person:ID")
	enrol.Flags().StringVar(&enrolPub, "pub", "subject.key.jwk", "subject public JWK")
	enrol.Flags().StringVar(&enrolOut, "out", "subject.cert", "certificate file to write")
	enrol.Flags().DurationVar(&enrolValidity, "validity", 365*24*time.Hour, "certificate validity")
	enrol.Flags().BoolVar(&enrolReplace, "replace", false, "certify the subject although this registrar certified it to another key (then revoke the earlier certificate)")
	enrol.MarkFlagRequired("dir")
	enrol.MarkFlagRequired("subject")

	var sf subjectFlags
	var (
		asJSON    bool
		pageLimit int
	)
	var iopts inquiryOpts // --verify, --witnesses, --export, --age-recipient (subject_verify.go)
	inquiries := &cobra.Command{
		Use:   "inquiries --node URL --provider ID --key subject.key --cert subject.cert",
		Short: "Read your own inquiry log at a provider, verified",
		Long: `inquiries sends a request signed with your key to the provider's public API. The provider logs the read,
then returns your entries only, signed with its registered key, a page of at most --page-limit entries
at a time: the command reads every page, each from where the previous one ended and proven against the
checkpoint of the first, and checks that the pages fit together. Each entry's leaf hash is recomputed.
--verify also checks, offline, that they are ALL your entries up to the provider's signed checkpoint
(inclusion proofs, your hash chain against the signed subject map), cosigned by --witnesses other members.
--export DIR writes the provider-signed log (JSON) and a CSV, age-encrypted with --age-recipient.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sf.client()
			if err != nil {
				return err
			}
			if pageLimit < 0 || pageLimit > schemas.SubjectPageMax {
				return fmt.Errorf("--page-limit must be 0 to %d", schemas.SubjectPageMax)
			}
			sc.PageLimit = pageLimit
			if iopts.active() {
				return iopts.run(cmd.Context(), a.out, sc, sf.cert, sf.node, sf.provider)
			}
			log, err := sc.Inquiries(cmd.Context(), sf.node, sf.provider)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(log)
			}
			printInquiries(a.out, log)
			return nil
		},
	}
	sf.add(inquiries)
	inquiries.Flags().BoolVar(&asJSON, "json", false, "print the verified log as JSON")
	inquiries.Flags().IntVar(&pageLimit, "page-limit", 0, fmt.Sprintf("entries per page read (0: the provider's default, %d; at most %d)", schemas.SubjectPageDefault, schemas.SubjectPageMax))
	iopts.addFlags(inquiries)

	cmd.AddCommand(keygen, enrol, inquiries, a.revokeSubjectCertCmd())
	cmd.AddCommand(a.subjectRightsCmds()...)
	return cmd
}

// otherKeyCerts lists the certificates this registrar (dir) issued to
// subject for a key other than kid, neither revoked nor expired.
func otherKeyCerts(dir, subject, kid string) ([]node.IssuedSubjectCert, error) {
	issued, err := node.IssuedSubjectCerts(dir)
	if err != nil {
		return nil, err
	}
	revoked, err := node.RevokedSubjectCerts(dir)
	if err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	var out []node.IssuedSubjectCert
	for _, c := range issued {
		if c.Subject == subject && c.KeyID != kid && c.Expiry > now && !slices.Contains(revoked, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ownRegistrarKey is the registrar's own key, to read back a certificate it
// has just signed.
type ownRegistrarKey struct {
	id, kid string
	key     ed25519.PublicKey
}

func (o ownRegistrarKey) RegistrarKey(id, kid string) (ed25519.PublicKey, bool) {
	return o.key, id == o.id && kid == o.kid
}

// SubjectCertRevoked: the certificate just issued is checked for its
// signature and shape only; revocations are the registry's.
func (ownRegistrarKey) SubjectCertRevoked(string, string) bool { return false }

// printInquiries prints a subject's log as a table.
func printInquiries(w io.Writer, log *schemas.SubjectLog) {
	fmt.Fprintf(w, "inquiry log of %s at %s: %d entries (signature and every leaf hash verified)\n", log.Subject, log.Issuer, len(log.Entries))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tTIME\tKIND\tINQUIRER\tORGANISATION\tPURPOSE\tCATEGORIES\tDECISION")
	for _, e := range log.Entries {
		en := e.Entry
		decision := en.Decision
		if en.Code != "" {
			decision += " (" + string(en.Code) + ")"
		}
		t := en.Time
		if ts, err := time.Parse(time.RFC3339Nano, en.Time); err == nil {
			t = ts.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Index, t, en.Kind, dash(en.Requester), dash(en.RequesterOrg),
			dash(en.Purpose), dash(strings.Join(en.Categories, ",")), decision)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
