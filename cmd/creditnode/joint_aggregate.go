package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/schemas"
)

// jointAggregateCmd is `joint aggregate`: one differentially private statistic of a feature
// over a cohort, asked of a host over the member API (POST /v1/joint/aggregate).
func (a *app) jointAggregateCmd() *cobra.Command {
	var q schemas.JointAggregate
	var members []string
	cmd := &cobra.Command{
		Use:   "aggregate --dir DIR --job STUDY --hosts HOST --kind count|sum|mean|histogram --category C [--feature C.NAME] --epsilon E",
		Short: "Ask a host for a differentially private count, sum, mean or histogram over a cohort",
		Long: `aggregate asks each host for one differentially private statistic of its joint-modelling data
(joint/features.csv), under purpose joint_modeling: a count of the cohort, or the sum, mean or
histogram of one feature (--feature CATEGORY.NAME, clamped to [--lo, --hi]; --edges for a
histogram). The cohort is --members (USCCs), or every record. The host's policy decides; it then
refuses a cohort below its minimum or too close to an earlier one, and charges --epsilon to this
node's privacy budget there (aggregate_epsilon in its joint/host.json). Printed: the noisy value,
the host's minimum cohort, the ε this node has spent at the host and the ε it has left.`,
	}
	a.jobHostsCmd(cmd, nil, func(ctx context.Context, cl *remote.Client, study string, hosts []string) error {
		q.Members = nil
		for _, m := range members {
			q.Members = append(q.Members, splitList(m)...)
		}
		failed := 0
		for _, h := range hosts {
			res, err := cl.Aggregate(ctx, h, study, q)
			if err != nil {
				fmt.Fprintf(a.errOut, "%s: %v\n", h, err)
				failed++
				continue
			}
			value := fmt.Sprintf("%g", res.Value)
			if q.Kind == "histogram" {
				bins := make([]string, len(res.Bins))
				for i, b := range res.Bins {
					bins[i] = fmt.Sprint(b)
				}
				value = "bins " + strings.Join(bins, ",")
			}
			fmt.Fprintf(a.out, "%s: %s %s: %s (ε %s); minimum cohort %s, ε spent %s, ε left %s\n", h, q.Kind, aggregateSubject(q), value,
				q.Epsilon, dashInt(res.MinCohort), dash(res.EpsilonSpent), dash(res.EpsilonLeft))
		}
		if failed > 0 {
			return silentExit(1)
		}
		return nil
	})
	f := cmd.Flags()
	f.StringVar(&q.Kind, "kind", "count", "count, sum, mean or histogram")
	f.StringVar(&q.Category, "category", "", "the host's record category")
	f.StringVar(&q.Feature, "feature", "", "CATEGORY.NAME (not for count)")
	f.StringArrayVar(&members, "members", nil, "the cohort's subject ids (repeat or separate with commas); default every record")
	f.Float64Var(&q.Lo, "lo", 0, "lower clamp of the feature")
	f.Float64Var(&q.Hi, "hi", 0, "upper clamp of the feature")
	f.Int64Var(&q.Scale, "scale", 0, "fixed-point scale of a sum or mean (the host's default if 0)")
	f.Float64SliceVar(&q.Edges, "edges", nil, "histogram bin edges")
	f.StringVar(&q.Epsilon, "epsilon", "", "ε to spend, an exact rational such as 1/10")
	f.StringVar(&q.Delta, "delta", "", "δ, for Gaussian noise")
	cmd.MarkFlagRequired("category")
	cmd.MarkFlagRequired("epsilon")
	return cmd
}

func aggregateSubject(q schemas.JointAggregate) string {
	if q.Feature != "" {
		return q.Feature
	}
	return q.Category
}

func dashInt(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
