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
	return []*cobra.Command{object, repair, status}
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
func (a *app) openRights(ctx context.Context, dir string) (operatorStore, *rights.Manager, error) {
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, nil, err
	}
	st, err := openOperatorStore(ctx, cfg) // SQLite or PostgreSQL (log_store.go)
	if err != nil {
		return nil, nil, err
	}
	return st, &rights.Manager{Store: st, Categories: v, Operator: "operator:" + cfg.ID, Clock: time.Now}, nil
}

func (a *app) objectionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "objections", Short: "As the operator, list and answer subjects' objections"}
	var dir, status, subject string
	var overdue, asJSON bool
	list := &cobra.Command{
		Use:   "list --dir D [--status open] [--subject S] [--overdue]",
		Short: "List objections; open ones past 20 days are marked overdue",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := a.openRights(cmd.Context(), dir)
			if err != nil {
				return err
			}
			defer st.Close()
			objs, err := st.Objections(cmd.Context(), store.RightsFilter{Subject: subject, Status: status})
			if err != nil {
				return err
			}
			now := time.Now()
			out := make([]schemas.ObjectionOut, 0, len(objs))
			for _, o := range objs {
				if w := rights.ObjectionOut(o, now); !overdue || w.Overdue {
					out = append(out, w)
				}
			}
			if asJSON {
				return printRightsJSON(a.out, out)
			}
			printObjections(a.out, out)
			return nil
		},
	}
	fl := list.Flags()
	fl.StringVar(&dir, "dir", "", "node directory")
	fl.StringVar(&status, "status", "", "only this status: open, corrected, removed, upheld")
	fl.StringVar(&subject, "subject", "", "only this subject")
	fl.BoolVar(&overdue, "overdue", false, "only open objections past their 20 days")
	fl.BoolVar(&asJSON, "json", false, "print as JSON")
	list.MarkFlagRequired("dir")

	var rDir, rID, rStatus, rReason string
	resolve := &cobra.Command{
		Use:   "resolve --dir D --id ID --status corrected|removed|upheld --reason TEXT",
		Short: "Answer an objection in writing (logged in the inquiry log)",
		Long: `resolve closes an open objection. "corrected" requires the record to have been re-imported with
"records import" after the objection was filed; "removed" stops the record being shared, for good;
"upheld" keeps it as it is. The reason is the written answer the subject reads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, m, err := a.openRights(cmd.Context(), rDir)
			if err != nil {
				return err
			}
			defer st.Close()
			o, idx, err := m.ResolveObjection(cmd.Context(), rID, rStatus, rReason)
			if err != nil {
				return explainRightsError(err)
			}
			fmt.Fprintf(a.out, "objection %s %s (log index %d)\n", o.ID, o.Status, idx)
			return nil
		},
	}
	addDecisionFlags(resolve, &rDir, &rID, &rStatus, &rReason, "status")
	cmd.AddCommand(list, resolve)
	return cmd
}

func (a *app) repairsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "repairs", Short: "As the operator, list and decide credit-repair applications"}
	var dir, status string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --dir D [--status pending]",
		Short: "List credit-repair applications",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := a.openRights(cmd.Context(), dir)
			if err != nil {
				return err
			}
			defer st.Close()
			rs, err := st.Repairs(cmd.Context(), store.RightsFilter{Status: status})
			if err != nil {
				return err
			}
			out := make([]schemas.RepairOut, 0, len(rs))
			for _, r := range rs {
				out = append(out, rights.RepairOut(r))
			}
			if asJSON {
				return printRightsJSON(a.out, out)
			}
			printRepairs(a.out, out)
			return nil
		},
	}
	list.Flags().StringVar(&dir, "dir", "", "node directory")
	list.Flags().StringVar(&status, "status", "", "only this status: pending, approved, rejected")
	list.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	list.MarkFlagRequired("dir")

	var dDir, dID, dDecision, dReason string
	decide := &cobra.Command{
		Use:   "decide --dir D --id ID --decision approved|rejected --reason TEXT",
		Short: "Approve or reject a repair application (logged in the inquiry log)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, m, err := a.openRights(cmd.Context(), dDir)
			if err != nil {
				return err
			}
			defer st.Close()
			r, idx, err := m.DecideRepair(cmd.Context(), dID, dDecision, dReason)
			if err != nil {
				return explainRightsError(err)
			}
			fmt.Fprintf(a.out, "repair %s %s (log index %d)\n", r.ID, r.Status, idx)
			return nil
		},
	}
	addDecisionFlags(decide, &dDir, &dID, &dDecision, &dReason, "decision")
	cmd.AddCommand(list, decide)
	return cmd
}

func addDecisionFlags(cmd *cobra.Command, dir, id, status, reason *string, statusFlag string) {
	fl := cmd.Flags()
	fl.StringVar(dir, "dir", "", "node directory")
	fl.StringVar(id, "id", "", "objection or application id")
	fl.StringVar(status, statusFlag, "", "the outcome")
	fl.StringVar(reason, "reason", "", "the written answer to the subject")
	for _, n := range []string{"dir", "id", statusFlag, "reason"} {
		cmd.MarkFlagRequired(n)
	}
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
