package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/reports"
	"github.com/creditexchange/node/schemas"
)

func (a *app) reportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Build and verify signed credit reports that stand in for paper proofs"}

	var dir, subject, purpose, consentFile, out string
	var from []string
	var validFor time.Duration
	var ic internalClientFlags
	build := &cobra.Command{
		Use:   "build --dir DIR --subject USCC --purpose P --consent consent.jws --from PROVIDER=CAT,… [--from …] --out report.jws",
		Short: "Query several providers as this node, with the subject's consent, and sign the assembled report",
		Long: `build queries each provider named by --from (each query runs the provider's full checks and is
logged by it), keeps every provider's signed answer unchanged, and signs the whole as this node. The
report states the categories it covers, how many records of each it holds (negative categories flagged),
and its validity; "creditnode report verify" checks it offline against the registry. If the node is
running, the report is built by the node through its internal API, as a registered client
(--client-config FILE or --client-cert/--client-key/--internal-ca, with --staff and --ref).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			parts, err := parseParts(from)
			if err != nil {
				return err
			}
			consentTok, err := readTrimmed(consentFile)
			if err != nil {
				return err
			}
			cfg, err := config.Load(dir)
			if err != nil {
				return err
			}
			if nodeRunning(cfg) {
				return a.buildReportInternal(cmd.Context(), cfg, &ic, subject, purpose, consentTok, parts, validFor, out)
			}
			n, err := a.openNode(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			cv, err := schemas.NewCategoryValidator()
			if err != nil {
				return err
			}
			asm, err := reports.NewAssembler(reports.AssemblerOptions{
				ID: n.Config.ID, Signer: n.Keys.Signer, KID: n.Keys.SigningKID, Querier: n.Client, Negative: cv.Negative,
			})
			if err != nil {
				return err
			}
			tok, c, err := asm.Build(cmd.Context(), reports.Request{
				Subject: subject, Purpose: purpose, Consent: consentTok, Parts: parts, ValidFor: validFor,
			})
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, append(tok, '\n'), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "report %s on %s for %s: %d part(s), valid until %s, written to %s\n", c.ID, c.Subject, c.Purpose,
				len(c.Parts), time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339), out)
			return nil
		},
	}
	f := build.Flags()
	f.StringVar(&dir, "dir", "", "this node's directory (the assembler)")
	f.StringVar(&subject, "subject", "", "subject USCC or person:ID")
	f.StringVar(&purpose, "purpose", "", "purpose code the subject authorised, e.g. loan_approval")
	f.StringVar(&consentFile, "consent", "", "the subject's consent token, naming every provider (or any)")
	f.StringArrayVar(&from, "from", nil, "a provider and its categories, as PROVIDER=CAT,CAT (repeatable)")
	f.DurationVar(&validFor, "valid-for", reports.DefaultValidity, "how long the report stands (at most 2160h)")
	f.StringVar(&out, "out", "report.jws", "file to write")
	ic.register(build)
	for _, n := range []string{"dir", "subject", "purpose", "consent", "from"} {
		build.MarkFlagRequired(n)
	}

	var regFile, authFile, at string
	verify := &cobra.Command{
		Use:   "verify FILE --registry registry.jws --authority authority.jwk [--at TIME]",
		Short: "Check a report offline: every provider's signature, the assembler's, validity and coverage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			if at != "" {
				var err error
				if now, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			tok, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			regTok, err := os.ReadFile(regFile)
			if err != nil {
				return err
			}
			authority, err := registry.LoadAuthorityPublic(authFile)
			if err != nil {
				return err
			}
			cv, err := schemas.NewCategoryValidator()
			if err != nil {
				return err
			}
			rep, reg, err := reports.VerifyOffline(tok, regTok, authority, now, cv.Negative)
			if err != nil {
				fmt.Fprintf(a.out, "%s: INVALID: %v\n", args[0], err)
				return silentExit(1)
			}
			printReport(a.out, rep, reg)
			return nil
		},
	}
	verify.Flags().StringVar(&regFile, "registry", "registry.jws", "signed federation registry")
	verify.Flags().StringVar(&authFile, "authority", "authority.jwk", "federation authority public JWK")
	verify.Flags().StringVar(&at, "at", "", "check validity at this RFC 3339 time (default: now)")

	cmd.AddCommand(build, verify)
	return cmd
}

// buildReportInternal has the running node build the report through its
// internal API.
func (a *app) buildReportInternal(ctx context.Context, cfg *config.Config, ic *internalClientFlags, subject, purpose, consentTok string,
	parts []reports.PartRequest, validFor time.Duration, out string) error {
	cl, who, err := ic.client(cfg, internalapi.OpReport)
	if err != nil {
		return err
	}
	req := internalapi.ReportBuildRequest{Subject: subject, Purpose: purpose, Consent: consentTok, ValidFor: validFor.String()}
	for _, p := range parts {
		req.Parts = append(req.Parts, internalapi.ReportPart{Provider: p.Provider, Categories: p.Categories})
	}
	var ans internalapi.ReportBuildAnswer
	if err := cl.Do(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteReportBuild, "POST "), who, req, &ans); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(ans.Report+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "report %s on %s for %s: %d part(s), valid until %s, written to %s (built by the running node)\n",
		ans.ID, subject, purpose, ans.Parts, ans.Expiry, out)
	return nil
}

// parseParts reads --from PROVIDER=CAT,CAT flags.
func parseParts(from []string) ([]reports.PartRequest, error) {
	var out []reports.PartRequest
	for _, s := range from {
		p, cats, ok := strings.Cut(s, "=")
		if !ok || p == "" || len(splitList(cats)) == 0 {
			return nil, fmt.Errorf("--from %q: want PROVIDER=CAT,CAT", s)
		}
		out = append(out, reports.PartRequest{Provider: p, Categories: splitList(cats)})
	}
	return out, nil
}

func printReport(w io.Writer, rep *reports.Report, reg *registry.Registry) {
	c := rep.Claims
	org := func(id string) string {
		if m, ok := reg.Member(id); ok {
			return m.Organisation
		}
		return "?"
	}
	fmt.Fprintf(w, "VALID report %s\n", c.ID)
	fmt.Fprintf(w, "subject    %s (%s)\n", c.Subject, c.SubjectType)
	fmt.Fprintf(w, "purpose    %s\n", c.Purpose)
	fmt.Fprintf(w, "assembled  by %s (%s), signature verified against registry serial %d\n", c.Issuer, org(c.Issuer), reg.Serial())
	fmt.Fprintf(w, "valid      %s .. %s\n", time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339), time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	for i, p := range rep.Parts {
		fmt.Fprintf(w, "part       %s (%s): %s; %d record(s); answered %s; provider log index %d; signature verified\n",
			p.Issuer, org(p.Issuer), strings.Join(c.Coverage[i].Categories, ","), len(p.Records),
			time.Unix(p.IssuedAt, 0).UTC().Format(time.RFC3339), p.Receipt.LogIndex)
	}
	for _, s := range c.Summary {
		kind := ""
		if s.Negative {
			kind = " (negative information)"
		}
		fmt.Fprintf(w, "category   %-24s %d record(s)%s\n", s.Category, s.Records, kind)
	}
	if n := rep.NegativeRecords(); n == 0 {
		fmt.Fprintln(w, "no negative records in the categories and providers covered")
	} else {
		fmt.Fprintf(w, "%d negative record(s)\n", n)
	}
}
