package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (a *app) discoverCmd() *cobra.Command {
	var dir, provider, purpose, subjectType string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "discover --dir DIR --peer ID --purpose P [--subject-type person]",
		Short: "Ask a provider which of its categories this node could query for a purpose, and with what",
		Long: `discover sends a signed discovery request to a provider. The provider asks its policy, for every
category of its catalogue, whether this node could query it for the purpose: as it stands, with the
subject's consent, with a regulator's special approval, or with both. The provider logs the request (it
names no subject) and signs the answer, which is verified before it is printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := a.openIdleNode(cmd.Context(), dir, "discover")
			if err != nil {
				return err
			}
			defer n.Close()
			ans, err := n.Client.Discover(cmd.Context(), provider, purpose, subjectType)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(ans)
			}
			fmt.Fprintf(a.out, "%s for %s (%s subject), policy %s, logged at index %d\n", ans.Issuer, ans.Purpose,
				ans.SubjectType, ans.PolicyRevision, ans.Receipt.LogIndex)
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			for _, c := range ans.Categories {
				switch {
				case !c.Available:
					fmt.Fprintf(tw, "%s\t%s\tdenied\t%s\n", c.Name, c.Level, strings.Join(c.Reasons, ","))
				case c.Needs == "":
					fmt.Fprintf(tw, "%s\t%s\tavailable\t%s\n", c.Name, c.Level, strings.Join(c.Fields, ","))
				default:
					fmt.Fprintf(tw, "%s\t%s\tneeds %s\t%s\n", c.Name, c.Level, c.Needs, strings.Join(c.Fields, ","))
				}
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "this node's directory")
	f.StringVar(&provider, "peer", "", "provider member id")
	f.StringVar(&purpose, "purpose", "", "purpose code")
	f.StringVar(&subjectType, "subject-type", "", "enterprise (default) or person")
	f.BoolVar(&asJSON, "json", false, "print the verified answer as JSON")
	for _, n := range []string{"dir", "peer", "purpose"} {
		cmd.MarkFlagRequired(n)
	}
	return cmd
}
