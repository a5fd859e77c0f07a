package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/schemas"
)

func (a *app) feedsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "feeds", Short: "Peer-to-peer change feeds between departments"}
	var dir, provider string
	var categories []string
	var limit int
	var ic internalClientFlags
	pull := &cobra.Command{
		Use:   "pull --dir DIR --provider ID --feed CATEGORY…",
		Short: "Pull and apply the changes of a provider's dataset since this node's cursor",
		Long: `pull asks the provider for the changes to a record category since this node's cursor, under the
statutory purpose ` + feeds.Purpose + ` (the provider decides its policy and logs the delivery per subject
before anything leaves). Each batch is signed by the provider and age-encrypted to this node; it is
verified, every record is checked against its category schema, and the batch is applied together with
the new cursor in one transaction: interrupted, a pull resumes where the last applied batch ended, and
applying a batch twice changes nothing. Records are stored as "PROVIDER/ID"; records the provider
withdraws (removed after an objection, past the 5-year rule, repaired) are deleted here. Pulls repeat
until the provider has nothing more. If the node is running, the pull is a job of the node's internal API,
followed until it ends, as a registered client (--client-config FILE or --client-cert/--client-key/
--internal-ca, with --staff); --limit then does not apply.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(dir)
			if err != nil {
				return err
			}
			if nodeRunning(cfg) {
				return a.feedsPullInternal(cmd.Context(), cfg, &ic, provider, categories)
			}
			n, err := a.openNode(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			sub, err := n.Subscriber()
			if err != nil {
				return err
			}
			sub.Limit = limit
			for _, c := range categories {
				total, removed, batches := 0, 0, 0
				prog := newCountProgress(a.errOut, provider+"/"+c+" records")
				for {
					p, err := sub.Pull(cmd.Context(), provider, c)
					if err != nil {
						prog.End()
						return fmt.Errorf("%s/%s: %w", provider, c, err)
					}
					batches++
					total += p.Records
					removed += p.Removed
					prog.Count(total, 0)
					if !p.More {
						prog.End()
						fmt.Fprintf(a.out, "%s/%s: %d record(s), %d withdrawn, in %d batch(es); cursor %d\n", provider, c, total, removed, batches, p.To)
						break
					}
				}
			}
			return nil
		},
	}
	f := pull.Flags()
	f.StringVar(&dir, "dir", "", "this node's directory (the subscriber)")
	f.StringVar(&provider, "provider", "", "the providing member")
	f.StringArrayVar(&categories, "feed", nil, "record category to pull (repeatable)")
	f.IntVar(&limit, "limit", 0, fmt.Sprintf("changes per batch (default and maximum %d)", feeds.MaxBatch))
	ic.register(pull)
	pull.MarkFlagRequired("dir")
	pull.MarkFlagRequired("provider")
	pull.MarkFlagRequired("feed")
	cmd.AddCommand(pull)
	return cmd
}

// feedsPullInternal has the running node pull each feed as a job of its
// internal API, and follows each job until it ends.
func (a *app) feedsPullInternal(ctx context.Context, cfg *config.Config, ic *internalClientFlags, provider string, categories []string) error {
	cl, who, err := ic.client(cfg, internalapi.OpFeeds)
	if err != nil {
		return err
	}
	for i, c := range categories {
		w := who
		if i > 0 {
			w.IdempotencyKey = internalapi.NewIdempotencyKey()
		}
		var job internalapi.Job
		if err := cl.Do(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteFeedPull, "POST "), w,
			internalapi.FeedPullRequest{Provider: provider, Feed: c}, &job); err != nil {
			return fmt.Errorf("%s/%s: %w", provider, c, err)
		}
		if job, err = cl.WaitJob(ctx, who, job, nil); err != nil {
			return fmt.Errorf("%s/%s: %w", provider, c, err)
		}
		if job.State != internalapi.JobDone {
			return fmt.Errorf("%s/%s: %w (after %d batch(es); cursor %d)", provider, c, schemas.Errorf(job.Code, "%s", job.Error), job.Batches, job.Cursor)
		}
		fmt.Fprintf(a.out, "%s/%s: %d record(s), %d withdrawn, in %d batch(es); cursor %d\n", provider, c, job.Records, job.Removed, job.Batches, job.Cursor)
	}
	return nil
}
