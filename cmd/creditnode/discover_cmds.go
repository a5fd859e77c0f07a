package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/schemas"
)

func (a *app) discoverCmd() *cobra.Command {
	var dir, provider, purpose, subjectType string
	var asJSON bool
	var ic internalClientFlags
	cmd := &cobra.Command{
		Use:   "discover --dir DIR --peer ID --purpose P [--subject-type person]",
		Short: "Ask a provider which of its categories this node could query for a purpose, and with what",
		Long: `discover sends a signed discovery request to a provider. The provider asks its policy, for every
category of its catalogue, whether this node could query it for the purpose: as it stands, with the
subject's consent, with a regulator's special approval, or with both. The provider logs the request (it
names no subject) and signs the answer, which is verified before it is printed. If the node is running,
the request goes through its internal API as a registered client (--client-config FILE or
--client-cert/--client-key/--internal-ca, with --staff).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ans, err := a.discover(cmd.Context(), dir, &ic, provider, purpose, subjectType)
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
	ic.register(cmd)
	for _, n := range []string{"dir", "peer", "purpose"} {
		cmd.MarkFlagRequired(n)
	}
	return cmd
}

// discover asks the provider as this node: through the running node's
// internal API, or by opening the node directory when it is not running.
func (a *app) discover(ctx context.Context, dir string, ic *internalClientFlags, provider, purpose, subjectType string) (*schemas.DiscoveryAnswer, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	if nodeRunning(cfg) {
		cl, who, err := ic.client(cfg, internalapi.OpDiscover)
		if err != nil {
			return nil, err
		}
		var ans schemas.DiscoveryAnswer
		err = cl.Do(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteDiscover, "POST "), who,
			internalapi.DiscoverRequest{Provider: provider, Purpose: purpose, SubjectType: subjectType}, &ans)
		return &ans, err
	}
	n, err := a.openNode(ctx, dir, a.logger())
	if err != nil {
		return nil, err
	}
	defer n.Close()
	return n.Client.Discover(ctx, provider, purpose, subjectType)
}
