package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/commitments"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas/uscc"
)

func (a *app) commitmentsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "commitments", Short: "Credit commitments and their fulfilment"}
	var dir, subject, at string
	overdue := &cobra.Command{
		Use:   "overdue --dir DIR [--subject USCC] [--at YYYY-MM-DD]",
		Short: "List commitments in this node's store that are unkept past their due day",
		Long: `overdue reads the commitment records in this node's store (one subject's with --subject) and lists
those still pending or found unfulfilled after their due day, by subject and record id.
The day is today (UTC) unless --at names another. Exit status 1 if any commitment is overdue.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			if at != "" {
				var err error
				if now, err = time.Parse(time.DateOnly, at); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			n, err := a.openNode(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			var recs []records.Record
			if subject != "" {
				s, err := uscc.Normalize(subject)
				if err != nil {
					return err
				}
				recs, err = n.Store.Records(cmd.Context(), s, []string{commitments.Category})
				if err != nil {
					return err
				}
			} else {
				if recs, err = n.Store.RecordsInCategory(cmd.Context(), commitments.Category, 0); err != nil {
					return err
				}
			}
			flagged, bad := commitments.Scan(recs, now)
			for _, f := range flagged {
				fmt.Fprintf(a.out, "%s/%s  OVERDUE %d day(s): due %s, %s, accepted by %s  [%s]\n", f.Subject, f.RecordID,
					f.DaysOverdue, f.Commitment.Due, f.Commitment.Status, f.Commitment.Authority, f.Commitment.TextDigest)
			}
			for _, b := range bad {
				fmt.Fprintf(a.out, "%s/%s  UNREADABLE: %v\n", b.Subject, b.RecordID, b.Err)
			}
			fmt.Fprintf(a.out, "%d commitment(s) checked as of %s, %d overdue\n", len(recs), now.UTC().Format(time.DateOnly), len(flagged))
			if len(flagged) > 0 {
				return silentExit(1)
			}
			return nil
		},
	}
	f := overdue.Flags()
	f.StringVar(&dir, "dir", "", "this node's directory")
	f.StringVar(&subject, "subject", "", "only this subject (USCC)")
	f.StringVar(&at, "at", "", "as of this day (YYYY-MM-DD; default today)")
	overdue.MarkFlagRequired("dir")
	cmd.AddCommand(overdue)
	return cmd
}
