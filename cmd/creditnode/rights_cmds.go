package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// Subjects' rights over their records: objections, credit repair, and the
// retention purge. The subject's commands go to the provider's public API;
// the operator's commands (objections, repairs, records purge) work on the
// node's store directly, like `records import`, so they need only the node
// directory and no operator endpoint has to be exposed. Each operator action
// and its inquiry-log entry are one transaction; a running node sees them at
// once (SQLite WAL).

// subjectRightsCmds are the subject's object, repair and objections commands.
func (a *app) subjectRightsCmds() []*cobra.Command {
	var of subjectFlags
	var oCategory, oRecord, oReason string
	object := &cobra.Command{
		Use:   "object --node URL --provider ID --category C --record ID --reason TEXT",
		Short: "Object to one of your records at a provider (answered within 20 days)",
		Long: `object sends an objection signed with your key. From then on the provider flags the record
"disputed" in every answer until its operator resolves the objection: corrected (a new version of the
record), removed (no longer shared) or upheld. Follow it with "subject objections".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := of.client()
			if err != nil {
				return err
			}
			f, err := sc.Object(cmd.Context(), of.node, of.provider, oCategory, oRecord, oReason)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "objection %s filed at %s (log index %d), answer due by %s\n", f.ID, of.provider, f.LogIndex, f.DueBy)
			return nil
		},
	}
	of.add(object)
	addRecordFlags(object, &oCategory, &oRecord, &oReason)

	var rf subjectFlags
	var rCategory, rRecord, rReason string
	repair := &cobra.Command{
		Use:   "repair --node URL --provider ID --category C --record ID --reason TEXT",
		Short: "Apply for credit repair of one of your negative records",
		Long: `repair sends a signed application stating how the conduct was corrected. If the provider's
operator approves it, the record is withheld from the purposes the policy names (loan and guarantee
reviews, joint punishment checks, …) but stays visible to judicial enforcement and supervision.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := rf.client()
			if err != nil {
				return err
			}
			f, err := sc.ApplyRepair(cmd.Context(), rf.node, rf.provider, rCategory, rRecord, rReason)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "repair application %s filed at %s (log index %d)\n", f.ID, rf.provider, f.LogIndex)
			return nil
		},
	}
	rf.add(repair)
	addRecordFlags(repair, &rCategory, &rRecord, &rReason)

	var sf subjectFlags
	var asJSON bool
	status := &cobra.Command{
		Use:   "objections --node URL --provider ID",
		Short: "Show your objections and repair applications at a provider, with status and outcome",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sf.client()
			if err != nil {
				return err
			}
			r, err := sc.Rights(cmd.Context(), sf.node, sf.provider)
			if err != nil {
				return err
			}
			if asJSON {
				return printRightsJSON(a.out, r)
			}
			fmt.Fprintf(a.out, "objections and repairs of %s at %s (signature verified)\n", r.Subject, r.Issuer)
			printObjections(a.out, r.Objections)
			printRepairs(a.out, r.Repairs)
			return nil
		},
	}
	sf.add(status)
	status.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return []*cobra.Command{object, repair, status, a.subjectReportCmd()}
}

// subjectReportCmd is `creditnode subject report`: the subject's own credit
// report at a provider, one of its free reports of the year.
func (a *app) subjectReportCmd() *cobra.Command {
	var sf subjectFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report --node URL --provider ID --key subject.key --cert subject.cert",
		Short: "Get your own credit report at a provider (spends one of your free reports of the year)",
		Long: `report asks the provider for every record it holds on you, signed with its registered key; records under
your open objection are marked disputed. Each report spends one of your free reports of the calendar year
(2 by default); past them the provider answers free_reports_exhausted. Reading your inquiry log
(subject inquiries) is free.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sf.client()
			if err != nil {
				return err
			}
			r, err := sc.Report(cmd.Context(), sf.node, sf.provider)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			fmt.Fprintf(a.out, "credit report of %s at %s: %d records (signature verified)\n", r.Subject, r.Issuer, len(r.Records))
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CATEGORY\tID\tDISPUTED\tDATA")
			for _, rec := range r.Records {
				fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", rec.Category, rec.ID, rec.Disputed, rec.Data)
			}
			return tw.Flush()
		},
	}
	sf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verified report as JSON")
	return cmd
}

func addRecordFlags(cmd *cobra.Command, category, record, reason *string) {
	fl := cmd.Flags()
	fl.StringVar(category, "category", "", "the record's category")
	fl.StringVar(record, "record", "", "the record's id at the provider")
	fl.StringVar(reason, "reason", "", "your statement (up to 2000 bytes)")
	for _, n := range []string{"category", "record", "reason"} {
		cmd.MarkFlagRequired(n)
	}
}

// openRights opens the node's store for an operator command.
func (a *app) openRights(ctx context.Context, dir string) (node.Store, *rights.Manager, error) {
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, nil, err
	}
	st, err := node.OpenStore(ctx, cfg, a.logger()) // SQLite or PostgreSQL
	if err != nil {
		return nil, nil, err
	}
	return st, &rights.Manager{Store: st, Categories: v, Operator: "operator:" + cfg.ID, Clock: time.Now}, nil
}

func (a *app) objectionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "objections", Short: "As the operator, list and answer subjects' objections"}
	var lf rightsListFlags
	var subject string
	var overdue bool
	list := &cobra.Command{
		Use:   "list --dir D [--status open] [--subject S] [--overdue]",
		Short: "List objections; open ones past 20 days are marked overdue",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listRights(cmd.Context(), a, lf, printObjections, func(ctx context.Context, st node.Store) ([]schemas.ObjectionOut, error) {
				objs, err := st.Objections(ctx, store.RightsFilter{Subject: subject, Status: lf.status})
				if err != nil {
					return nil, err
				}
				now := time.Now()
				out := make([]schemas.ObjectionOut, 0, len(objs))
				for _, o := range objs {
					if w := rights.ObjectionOut(o, now); !overdue || w.Overdue {
						out = append(out, w)
					}
				}
				return out, nil
			})
		},
	}
	lf.add(list, "open, corrected, removed, upheld")
	list.Flags().StringVar(&subject, "subject", "", "only this subject")
	list.Flags().BoolVar(&overdue, "overdue", false, "only open objections past their 20 days")

	var df decisionFlags
	resolve := &cobra.Command{
		Use:   "resolve --dir D --id ID --status corrected|removed|upheld --reason TEXT",
		Short: "Answer an objection in writing (logged in the inquiry log)",
		Long: `resolve closes an open objection. "corrected" requires the record to have been re-imported with
"records import" after the objection was filed; "removed" stops the record being shared, for good;
"upheld" keeps it as it is. The reason is the written answer the subject reads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.decideRights(cmd.Context(), df.dir, "objection", func(ctx context.Context, m *rights.Manager) (string, string, uint64, error) {
				o, idx, err := m.ResolveObjection(ctx, df.id, df.outcome, df.reason)
				return o.ID, o.Status, idx, err
			})
		},
	}
	df.add(resolve, "status")
	cmd.AddCommand(list, resolve)
	return cmd
}

func (a *app) repairsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "repairs", Short: "As the operator, list and decide credit-repair applications"}
	var lf rightsListFlags
	list := &cobra.Command{
		Use:   "list --dir D [--status pending]",
		Short: "List credit-repair applications",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listRights(cmd.Context(), a, lf, printRepairs, func(ctx context.Context, st node.Store) ([]schemas.RepairOut, error) {
				rs, err := st.Repairs(ctx, store.RightsFilter{Status: lf.status})
				if err != nil {
					return nil, err
				}
				out := make([]schemas.RepairOut, 0, len(rs))
				for _, r := range rs {
					out = append(out, rights.RepairOut(r))
				}
				return out, nil
			})
		},
	}
	lf.add(list, "pending, approved, rejected")

	var df decisionFlags
	decide := &cobra.Command{
		Use:   "decide --dir D --id ID --decision approved|rejected --reason TEXT",
		Short: "Approve or reject a repair application (logged in the inquiry log)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.decideRights(cmd.Context(), df.dir, "repair", func(ctx context.Context, m *rights.Manager) (string, string, uint64, error) {
				r, idx, err := m.DecideRepair(ctx, df.id, df.outcome, df.reason)
				return r.ID, r.Status, idx, err
			})
		},
	}
	df.add(decide, "decision")
	cmd.AddCommand(list, decide)
	return cmd
}

// rightsListFlags are the flags of the operator's list commands.
type rightsListFlags struct {
	dir, status string
	asJSON      bool
}

// add registers --dir (required), --status (one of statuses) and --json.
func (f *rightsListFlags) add(cmd *cobra.Command, statuses string) {
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "node directory")
	fl.StringVar(&f.status, "status", "", "only this status: "+statuses)
	fl.BoolVar(&f.asJSON, "json", false, "print as JSON")
	cmd.MarkFlagRequired("dir")
}

// listRights is the body of the operator's list commands: it opens the
// store of f.dir, reads the rows with read (which must return a non-nil
// slice, so that an empty list prints as [] in JSON) and prints them with
// print, or as JSON with --json.
func listRights[T any](ctx context.Context, a *app, f rightsListFlags, print func(io.Writer, []T),
	read func(context.Context, node.Store) ([]T, error)) error {
	st, _, err := a.openRights(ctx, f.dir)
	if err != nil {
		return err
	}
	defer st.Close()
	out, err := read(ctx, st)
	if err != nil {
		return err
	}
	if f.asJSON {
		return printRightsJSON(a.out, out)
	}
	print(a.out, out)
	return nil
}

// decisionFlags are the flags of the operator's answers to an objection or
// a repair application.
type decisionFlags struct {
	dir, id, outcome, reason string
}

// add registers the required flags --dir, --id, --reason and the outcome
// under the name outcomeFlag.
func (f *decisionFlags) add(cmd *cobra.Command, outcomeFlag string) {
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "node directory")
	fl.StringVar(&f.id, "id", "", "objection or application id")
	fl.StringVar(&f.outcome, outcomeFlag, "", "the outcome")
	fl.StringVar(&f.reason, "reason", "", "the written answer to the subject")
	for _, n := range []string{"dir", "id", outcomeFlag, "reason"} {
		cmd.MarkFlagRequired(n)
	}
}

// decideRights is the body of the operator's answers: it opens the store of
// dir, runs decide (one transaction with its inquiry-log entry) and prints
// "KIND ID STATUS (log index N)".
func (a *app) decideRights(ctx context.Context, dir, kind string,
	decide func(context.Context, *rights.Manager) (id, status string, logIndex uint64, err error)) error {
	st, m, err := a.openRights(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	id, status, idx, err := decide(ctx, m)
	if err != nil {
		return explainRightsError(err)
	}
	fmt.Fprintf(a.out, "%s %s %s (log index %d)\n", kind, id, status, idx)
	return nil
}

func explainRightsError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no such objection or application: %w", err)
	case errors.Is(err, store.ErrNotOpen):
		return fmt.Errorf("already answered: %w", err)
	case errors.Is(err, store.ErrNotCorrected):
		return fmt.Errorf("re-import the corrected record first (records import), then resolve: %w", err)
	}
	return err
}

// purgeCmd is `records purge`.
func (a *app) purgeCmd() *cobra.Command {
	var dir string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "purge --dir D [--dry-run]",
		Short: "Delete negative records 5 years past their conduct_end, with an audit entry in the inquiry log",
		Long: `purge finds the records of negative categories (x-negative) whose conduct_end is 5 or more years
ago; they are already no longer provided. It deletes them and appends one retention_purge entry to the
inquiry log, in the same transaction, holding the count and a digest of the record ids (never contents).
--dry-run only reports what would be deleted. Records without conduct_end (ongoing conduct) are kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, m, err := a.openRights(cmd.Context(), dir)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := m.Purge(cmd.Context(), dryRun)
			if err != nil {
				return err
			}
			if rep.Bad > 0 {
				fmt.Fprintf(a.out, "%d negative record(s) have an unreadable conduct_end: withheld from answers, not purged\n", rep.Bad)
			}
			switch {
			case dryRun:
				fmt.Fprintf(a.out, "dry run: %d record(s) past retention (ids digest %s)\n", len(rep.Expired), rep.Digest)
			case len(rep.Expired) == 0:
				fmt.Fprintln(a.out, "nothing to purge")
			default:
				fmt.Fprintf(a.out, "purged %d record(s) (log index %d, ids digest %s)\n", rep.Deleted, rep.LogIndex, rep.Digest)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "node directory")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report only; delete nothing")
	cmd.MarkFlagRequired("dir")
	return cmd
}

func printObjections(w io.Writer, objs []schemas.ObjectionOut) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECTION\tSUBJECT\tCATEGORY\tRECORD\tFILED\tDUE\tSTATUS\tOUTCOME")
	for _, o := range objs {
		st := o.Status
		if o.Overdue {
			st += " (OVERDUE)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Subject, o.Category, o.RecordID, day(o.FiledAt), day(o.DueBy), st, dash(o.Outcome))
	}
	tw.Flush()
}

func printRepairs(w io.Writer, rs []schemas.RepairOut) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPAIR\tSUBJECT\tCATEGORY\tRECORD\tFILED\tSTATUS\tOUTCOME")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Subject, r.Category, r.RecordID, day(r.FiledAt), r.Status, dash(r.Outcome))
	}
	tw.Flush()
}

func day(ts string) string {
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		return t.Format("2006-01-02 15:04")
	}
	return ts
}

func printRightsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
