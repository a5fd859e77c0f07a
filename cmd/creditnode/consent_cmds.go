package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

func loadConfig(dir string) (*config.Config, error) { return config.Load(dir) }

func (a *app) consentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "consent", Short: "Grant and revoke authorisations (as the subject)"}

	var key, cert, requester, purpose, categories, providers, out string
	var notBefore, dataFrom, dataTo string
	var validFor time.Duration
	var maxUses int
	grant := &cobra.Command{
		Use:   "grant --key subject.key --cert subject.cert --requester ID --purpose P --categories C,… --out consent.jws",
		Short: "Sign an authorisation for a requester to query you for a purpose",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkConsentTerms(cmd.Context(), purpose, splitList(categories), splitList(providers)); err != nil {
				return usageErr(err)
			}
			priv, err := keys.LoadSigningKey(key)
			if err != nil {
				return err
			}
			certTok, err := os.ReadFile(cert)
			if err != nil {
				return err
			}
			subject, err := certSubject(certTok)
			if err != nil {
				return err
			}
			now := time.Now()
			nbf := now
			if notBefore != "" {
				if nbf, err = time.Parse(time.RFC3339, notBefore); err != nil {
					return fmt.Errorf("--not-before: %w", err)
				}
			}
			tok, err := consent.Grant(priv, certTok, schemas.ConsentClaims{
				Subject: subject, Requester: requester, Purpose: purpose,
				Categories: splitList(categories), Providers: splitList(providers),
				NotBefore: nbf.Unix(), Expiry: nbf.Add(validFor).Unix(), MaxUses: maxUses,
				DataFrom: dataFrom, DataTo: dataTo,
			}, now)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, tok, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "granted %s to %s for %s on %s, until %s, %d use(s)\n", subject, requester, purpose,
				strings.Join(splitList(categories), ","), nbf.Add(validFor).UTC().Format(time.RFC3339), maxUses)
			return nil
		},
	}
	f := grant.Flags()
	f.StringVar(&key, "key", "subject.key", "subject private key")
	f.StringVar(&cert, "cert", "subject.cert", "subject certificate")
	f.StringVar(&requester, "requester", "", "member id allowed to query")
	f.StringVar(&purpose, "purpose", "", "purpose code, e.g. loan_approval")
	f.StringVar(&categories, "categories", "", "comma-separated categories")
	f.StringVar(&providers, "providers", "", "comma-separated provider ids the consent may be used at (required: each provider counts only its own uses)")
	f.StringVar(&notBefore, "not-before", "", "start of validity, RFC 3339 (default: now)")
	f.DurationVar(&validFor, "valid-for", 30*24*time.Hour, "validity from not-before")
	f.IntVar(&maxUses, "max-uses", 3, "how many queries it allows")
	f.StringVar(&dataFrom, "data-from", "", "only records dated on or after this day, YYYY-MM-DD (default: no bound)")
	f.StringVar(&dataTo, "data-to", "", "only records dated on or before this day, YYYY-MM-DD (default: no bound)")
	f.StringVar(&out, "out", "consent.jws", "file to write")
	for _, n := range []string{"requester", "purpose", "categories"} {
		grant.MarkFlagRequired(n)
	}

	var sf subjectFlags
	var consentFile string
	revoke := &cobra.Command{
		Use:   "revoke --consent consent.jws --node URL --provider ID",
		Short: "Send a signed revocation of a consent to a provider",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := os.ReadFile(consentFile)
			if err != nil {
				return err
			}
			id, err := consentID(tok)
			if err != nil {
				return err
			}
			sc, err := sf.client()
			if err != nil {
				return err
			}
			r, err := sc.Revoke(cmd.Context(), sf.node, sf.provider, id)
			if err != nil {
				return err
			}
			note := ""
			if r.Status == "revoked_before_use" {
				note = ", before its first use there: it will be refused if presented"
			}
			fmt.Fprintf(a.out, "revoked consent %s at %s (log index %d)%s\n", id, sf.provider, r.LogIndex, note)
			return nil
		},
	}
	sf.add(revoke)
	revoke.Flags().StringVar(&consentFile, "consent", "consent.jws", "the consent to revoke")

	cmd.AddCommand(grant, revoke)
	return cmd
}

// certSubject reads the subject id from one's own certificate (its signature
// is checked by every provider against the registry; here we only need the id).
func certSubject(cert []byte) (string, error) {
	var c schemas.SubjectCertClaims
	if err := unverifiedClaims(cert, schemas.TypSubjectCert, &c); err != nil {
		return "", fmt.Errorf("subject certificate: %w", err)
	}
	return c.Subject, nil
}

func consentID(tok []byte) (string, error) {
	var c schemas.ConsentClaims
	if err := unverifiedClaims(tok, schemas.TypConsent, &c); err != nil {
		return "", fmt.Errorf("consent: %w", err)
	}
	return c.ID, nil
}

// unverifiedClaims reads the claims of the holder's own token (a subject's
// own certificate or consent) to pick ids for the command line. It is never
// used on input from others: providers verify every token they receive.
func unverifiedClaims(tok []byte, typ string, v any) error {
	h, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return err
	}
	if h.Type != typ {
		return jose.ErrType
	}
	parts := strings.Split(string(tok), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	return json.Unmarshal(payload, v)
}

// checkConsentTerms refuses, before anything is signed, a consent whose
// purpose or categories the federation does not know (the purposes of the
// embedded policy, the categories of the embedded schemas), suggesting the
// nearest, or which names no provider.
func checkConsentTerms(ctx context.Context, purpose string, categories, providers []string) error {
	eng, err := policy.New(ctx, policy.Options{})
	if err != nil {
		return err
	}
	if err := checkNames("purpose", []string{purpose}, eng.Purposes()); err != nil {
		return fmt.Errorf("--purpose: %w", err)
	}
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		return err
	}
	if len(categories) == 0 {
		return errors.New("--categories: name at least one category")
	}
	if err := checkNames("category", categories, cv.Categories()); err != nil {
		return fmt.Errorf("--categories: %w", err)
	}
	if len(providers) == 0 {
		return errors.New("--providers: name the providers the consent may be used at (each counts only the uses spent at it)")
	}
	return nil
}
