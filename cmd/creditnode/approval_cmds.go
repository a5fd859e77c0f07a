package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/approval"
	"github.com/creditexchange/node/schemas"
)

func (a *app) approvalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "approval", Short: "Special approvals for restricted categories (as a regulator)"}

	var dir, caseID, subject, requester, purpose, categories, out string
	var validFor time.Duration
	issue := &cobra.Command{
		Use:   "issue --dir REGULATOR_DIR --case ID --subject USCC --requester ID --purpose P --categories C,… --out approval.jws",
		Short: "Sign a special approval for a requester to receive restricted categories about a subject",
		Long: `issue is run by the operator of a node with the regulator role, for a named case. The approval lets one
requester receive the listed categories about one subject, for one purpose, until it expires; the requester
passes it with 'creditnode query --approval FILE', and every provider logs the case id with each use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(dir)
			if err != nil {
				return err
			}
			if !cfg.HasRole(approval.RoleRegulator) {
				return fmt.Errorf("node %s does not hold the regulator role", cfg.ID)
			}
			nk, err := node.OpenKeys(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			now := time.Now()
			tok, err := approval.Issue(nk.Signer, nk.SigningKID, schemas.ApprovalClaims{
				Case: caseID, Issuer: cfg.ID, Subject: subject, Requester: requester, Purpose: purpose,
				Categories: splitList(categories), Expiry: now.Add(validFor).Unix(),
			}, now)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, tok, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "approved case %s: %s may receive %s about %s for %s, until %s\n", caseID, requester,
				strings.Join(splitList(categories), ","), strings.ToUpper(subject), purpose,
				now.Add(validFor).UTC().Format(time.RFC3339))
			return nil
		},
	}
	f := issue.Flags()
	f.StringVar(&dir, "dir", "", "the regulator node's directory")
	f.StringVar(&caseID, "case", "", "the case id the approval is for")
	f.StringVar(&subject, "subject", "", "subject USCC or person:ID")
	f.StringVar(&requester, "requester", "", "member id allowed to query")
	f.StringVar(&purpose, "purpose", "", "purpose code, e.g. judicial_enforcement")
	f.StringVar(&categories, "categories", "", "comma-separated restricted categories")
	f.DurationVar(&validFor, "valid-for", 7*24*time.Hour, "validity from now (at most 366 days)")
	f.StringVar(&out, "out", "approval.jws", "file to write")
	for _, n := range []string{"dir", "case", "subject", "requester", "purpose", "categories"} {
		issue.MarkFlagRequired(n)
	}
	cmd.AddCommand(issue)
	return cmd
}
