package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"

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
			n, err := a.openNode(cmd.Context(), dir, a.logger())
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
			return printOutcome(a.out, out)
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
	failed := make([]string, len(o.Failed))
	for i, f := range o.Failed {
		failed[i] = f.Provider
	}
	printAsked(w, o.Subject+" (through the running node)", o.Checked, failed)
	for _, f := range o.Failed {
		fmt.Fprintf(w, "  %s: NO ANSWER: %s\n", f.Provider, f.Code)
	}
	for _, f := range o.Findings {
		state := "not in force"
		if f.InForce {
			state = "IN FORCE"
		}
		printFinding(w, f.Provider, f.RecordID, f.Entry, state)
	}
	for _, m := range o.Measures {
		printMeasure(w, m.Code, m.Description, m.Until, m.ImposedBy)
	}
	return verdict(w, o.Complete, o.Listed)
}

// printOutcome prints the check and returns its exit status (verdict).
func printOutcome(w io.Writer, o *lists.Outcome) error {
	failed := make([]string, len(o.Failed))
	for i, f := range o.Failed {
		failed[i] = f.Provider
	}
	printAsked(w, o.Subject, o.Checked, failed)
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
		printFinding(w, f.Provider, f.RecordID, f.Entry, state)
	}
	if len(o.Measures) == 0 {
		fmt.Fprintln(w, "  no joint punishment measures apply")
	}
	for _, m := range o.Measures {
		printMeasure(w, m.Code, m.Description, m.Until, m.ImposedBy)
	}
	return verdict(w, o.Complete(), o.Listed())
}

// printAsked names every provider the check asked, answered or not.
func printAsked(w io.Writer, subject string, checked, failed []string) {
	asked := slices.Concat(checked, failed)
	slices.Sort(asked)
	fmt.Fprintf(w, "joint punishment check of %s: asked %s (%d answered, %d did not)\n", subject,
		strings.Join(asked, ", "), len(checked), len(failed))
}

func printFinding(w io.Writer, provider, recordID string, e lists.Entry, state string) {
	fmt.Fprintf(w, "  %s/%s  %s: %s, by %s, listed %s  [%s]\n", provider, recordID, e.List, e.ListName,
		e.Authority, e.ListedOn, state)
}

func printMeasure(w io.Writer, code, description, until string, imposedBy []string) {
	end := "no fixed end"
	if until != "" {
		end = "until " + until
	}
	fmt.Fprintf(w, "  measure %-24s %s (%s; imposed by %s)\n", code, description, end, strings.Join(imposedBy, ", "))
}

// verdict prints the check's last line and returns its exit status:
// 3 incomplete, 1 listed, 0 not listed.
func verdict(w io.Writer, complete, listed bool) error {
	switch {
	case !complete:
		fmt.Fprintln(w, "INCOMPLETE: not every provider answered")
		return silentExit(exitIncomplete)
	case listed:
		fmt.Fprintln(w, "LISTED")
		return silentExit(exitFailure)
	}
	fmt.Fprintln(w, "NOT LISTED")
	return nil
}
