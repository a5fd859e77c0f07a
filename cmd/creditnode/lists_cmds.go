package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/lists"
	"github.com/creditexchange/node/schemas"
)

func (a *app) listsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lists", Short: "Lists of seriously untrustworthy entities and joint punishment"}
	var dir, subject string
	var providers []string
	var ic internalClientFlags
	check := &cobra.Command{
		Use:   "check --dir DIR --subject USCC [--provider ID…]",
		Short: "Joint punishment check: ask every provider whether the subject is listed, and which measures apply",
		Long: `check sends a joint_punishment_check query for the untrustworthy_list category to every provider (by
default, every member whose signed catalogue lists that category), each through the provider's policy and
inquiry log, and merges the answers: the entries in force, and the measures they impose today. An entry
removed after credit repair no longer counts. The exit status is 1 if the subject is listed, 3 if a
provider could not answer (the check is then incomplete). If the node is running, the check goes
through its internal API as a registered client (--client-config FILE or --client-cert/--client-key/
--internal-ca, with --staff and --ref) and --provider is required.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(dir)
			if err != nil {
				return err
			}
			if nodeRunning(cfg) {
				return a.listsCheckInternal(cmd.Context(), cfg, &ic, subject, providers)
			}
			n, err := node.Open(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			if len(providers) == 0 {
				reg := n.Registry.Current()
				var peers []string
				for _, m := range reg.Doc().Members {
					if m.ID != n.Config.ID {
						peers = append(peers, m.ID)
					}
				}
				got, err := catalog.Fetch(cmd.Context(), n.Client, reg, peers)
				if err != nil {
					return err
				}
				for _, f := range got {
					if f.Err == nil && slices.ContainsFunc(f.Catalog.Categories, func(e schemas.CatalogEntry) bool { return e.Name == lists.Category }) {
						providers = append(providers, f.Provider)
					}
				}
				if len(providers) == 0 {
					return fmt.Errorf("no member's catalogue lists %s", lists.Category)
				}
			}
			out, err := (&lists.Checker{Querier: n.Client}).Check(cmd.Context(), subject, providers)
			if err != nil {
				return err
			}
			printOutcome(a.out, out)
			switch {
			case !out.Complete():
				return silentExit(exitIncomplete)
			case out.Listed():
				return silentExit(1)
			}
			return nil
		},
	}
	f := check.Flags()
	f.StringVar(&dir, "dir", "", "this node's directory (a department, registrar or regulator)")
	f.StringVar(&subject, "subject", "", "subject USCC")
	f.StringArrayVar(&providers, "provider", nil, "provider to ask (repeatable; default: every member listing untrustworthy_list)")
	ic.register(check)
	check.MarkFlagRequired("dir")
	check.MarkFlagRequired("subject")
	cmd.AddCommand(check)
	return cmd
}

// listsCheckInternal has the running node run the check through its
// internal API; the exit status is that of the offline check.
func (a *app) listsCheckInternal(ctx context.Context, cfg *config.Config, ic *internalClientFlags, subject string, providers []string) error {
	cl, who, err := ic.client(cfg, internalapi.OpLists)
	if err != nil {
		return err
	}
	if len(providers) == 0 {
		return fmt.Errorf("node %s is running: name the providers to ask with --provider", cfg.ID)
	}
	var o internalapi.ListsCheckAnswer
	if err := cl.Do(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteListsCheck, "POST "), who,
		internalapi.ListsCheckRequest{Subject: subject, Providers: providers}, &o); err != nil {
		return err
	}
	w := a.out
	asked := slices.Clone(o.Checked)
	for _, f := range o.Failed {
		asked = append(asked, f.Provider)
	}
	slices.Sort(asked)
	fmt.Fprintf(w, "joint punishment check of %s (through the running node): asked %s (%d answered, %d did not)\n", o.Subject,
		strings.Join(asked, ", "), len(o.Checked), len(o.Failed))
	for _, f := range o.Failed {
		fmt.Fprintf(w, "  %s: NO ANSWER: %s\n", f.Provider, f.Code)
	}
	for _, f := range o.Findings {
		state := "not in force"
		if f.InForce {
			state = "IN FORCE"
		}
		fmt.Fprintf(w, "  %s/%s  %s: %s, by %s, listed %s  [%s]\n", f.Provider, f.RecordID, f.Entry.List, f.Entry.ListName,
			f.Entry.Authority, f.Entry.ListedOn, state)
	}
	for _, m := range o.Measures {
		until := "no fixed end"
		if m.Until != "" {
			until = "until " + m.Until
		}
		fmt.Fprintf(w, "  measure %-24s %s (%s; imposed by %s)\n", m.Code, m.Description, until, strings.Join(m.ImposedBy, ", "))
	}
	switch {
	case !o.Complete:
		fmt.Fprintln(w, "INCOMPLETE: not every provider answered")
		return silentExit(exitIncomplete)
	case o.Listed:
		fmt.Fprintln(w, "LISTED")
		return silentExit(1)
	}
	fmt.Fprintln(w, "NOT LISTED")
	return nil
}

func printOutcome(w io.Writer, o *lists.Outcome) {
	asked := slices.Clone(o.Checked)
	for _, f := range o.Failed {
		asked = append(asked, f.Provider)
	}
	slices.Sort(asked)
	fmt.Fprintf(w, "joint punishment check of %s: asked %s (%d answered, %d did not)\n", o.Subject,
		strings.Join(asked, ", "), len(o.Checked), len(o.Failed))
	for _, f := range o.Failed {
		fmt.Fprintf(w, "  %s: NO ANSWER: %v\n", f.Provider, f.Err)
	}
	for _, f := range o.Findings {
		state := "removed"
		switch {
		case f.Status.InForce && f.Status.Published:
			state = "IN FORCE, published"
		case f.Status.InForce:
			state = "IN FORCE"
		case !f.Status.Retained:
			state = "expired (5 years after the conduct ended)"
		case f.Entry.RemovedOn != "":
			state = "removed " + f.Entry.RemovedOn + " (" + f.Entry.RemovalReason + ")"
		}
		fmt.Fprintf(w, "  %s/%s  %s: %s, by %s, listed %s  [%s]\n", f.Provider, f.RecordID, f.Entry.List, f.Entry.ListName,
			f.Entry.Authority, f.Entry.ListedOn, state)
	}
	if len(o.Measures) == 0 {
		fmt.Fprintln(w, "  no joint punishment measures apply")
	}
	for _, m := range o.Measures {
		until := "no fixed end"
		if m.Until != "" {
			until = "until " + m.Until
		}
		fmt.Fprintf(w, "  measure %-24s %s (%s; imposed by %s)\n", m.Code, m.Description, until, strings.Join(m.ImposedBy, ", "))
	}
	switch {
	case !o.Complete():
		fmt.Fprintln(w, "INCOMPLETE: not every provider answered")
	case o.Listed():
		fmt.Fprintln(w, "LISTED")
	default:
		fmt.Fprintln(w, "NOT LISTED")
	}
}
