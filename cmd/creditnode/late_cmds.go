package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/lists"
)

// latePublicationsCmd lists the administrative penalties this node published
// after their 7-working-day deadline (lists.LatePublications).
func (a *app) latePublicationsCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "late-publications --dir D",
		Short: "List administrative penalties published after their 7-working-day deadline",
		Long: `late-publications reads this node's administrative_penalty records and lists those whose import or
last update (the record's updated_at) came after the 7th working day following decision_date. Working days
are Monday to Friday; public holidays are not modelled. A record corrected after it was published counts
from its last update.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(dir)
			if err != nil {
				return err
			}
			st, err := node.OpenStore(cmd.Context(), cfg, a.logger())
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.RecordsInCategories(cmd.Context(), []string{lists.PenaltyCategory})
			if err != nil {
				return err
			}
			late, unknown := lists.LatePublications(recs, nil)
			if unknown > 0 {
				fmt.Fprintf(a.out, "%d penalty record(s) could not be judged (no readable decision_date or update time)\n", unknown)
			}
			if len(late) == 0 {
				fmt.Fprintln(a.out, "no late publications")
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SUBJECT\tRECORD\tDECIDED\tDUE\tPUBLISHED")
			for _, l := range late {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Subject, l.ID, l.Decided.Format(time.DateOnly),
					l.Due.Format(time.DateOnly), l.Published.UTC().Format(time.RFC3339))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%d late publication(s)\n", len(late))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "node directory")
	cmd.MarkFlagRequired("dir")
	return cmd
}
