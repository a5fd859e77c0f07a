package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/grading"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/uscc"
)

func (a *app) gradeCmd() *cobra.Command {
	var dir, at string
	var peers []string
	var allPeers, asJSON bool
	var ic internalClientFlags
	cmd := &cobra.Command{
		Use:   "grade USCC --dir DIR [--peer ID…|--all-peers] [--at YYYY-MM-DD]",
		Short: "Credit grade (A–D) of a subject for \"double random, one public\" supervision",
		Long: `grade gathers the subject's records this node can see — its own store and, with --peer or
--all-peers, the graded categories each peer's signed catalogue offers, asked under the statutory purpose
administrative_supervision through the peer's policy and inquiry log — and evaluates the grading rules
of the policy in force (package creditnode.grading; thresholds and the inspection table are policy data,
changed by signed bundle). It prints the grade, the rules that fired and the inspection regime.
Exit status: 0 graded; 3 graded but incomplete (a peer did not answer or a record could not be read).
If the node is running, the grade is made by the node through its internal API as a registered client
(--client-config FILE or --client-cert/--client-key/--internal-ca, with --staff and --ref).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, err := uscc.Normalize(args[0])
			if err != nil {
				return err
			}
			now := time.Now()
			if at != "" {
				if now, err = time.Parse(time.DateOnly, at); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			cfg, err := config.Load(dir)
			if err != nil {
				return err
			}
			if nodeRunning(cfg) {
				rep, err := gradeInternal(cmd.Context(), cfg, &ic, internalapi.GradeRequest{Subject: subject, Peers: peers, AllPeers: allPeers, At: at})
				if err != nil {
					return err
				}
				return a.showGrade(rep, asJSON)
			}
			n, err := a.openNode(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			var asks []grading.Ask
			var problems []grading.Problem
			if allPeers || len(peers) > 0 {
				reg := n.Registry.Current()
				asks, problems, err = grading.PlanAsks(cmd.Context(), n.Client, reg, grading.Peers(reg.Doc().Members, n.Config.ID, peers, allPeers))
				if err != nil {
					return err
				}
			}
			g := &grading.Gatherer{Local: n.Store, Self: n.Config.ID, Querier: n.Client}
			srcs, gp, err := g.Gather(cmd.Context(), subject, asks)
			if err != nil {
				return err
			}
			cv, err := schemas.NewCategoryValidator()
			if err != nil {
				return err
			}
			rep, err := grading.Grade(cmd.Context(), n.Policy, subject, srcs, now, cv)
			if err != nil {
				return err
			}
			rep.Problems = append(append(problems, gp...), rep.Problems...)
			return a.showGrade(rep, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "this node's directory")
	f.StringArrayVar(&peers, "peer", nil, "also ask this member (repeatable)")
	f.BoolVar(&allPeers, "all-peers", false, "also ask every other member whose catalogue offers a graded category")
	f.StringVar(&at, "at", "", "grade as of this day (YYYY-MM-DD; default today)")
	f.BoolVar(&asJSON, "json", false, "print the grade as JSON")
	ic.register(cmd)
	cmd.MarkFlagRequired("dir")
	return cmd
}

// showGrade prints rep; the exit status says whether it is complete.
func (a *app) showGrade(rep *grading.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(gradeJSON(rep)); err != nil {
			return err
		}
	} else {
		printGrade(a.out, rep)
	}
	if !rep.Complete() {
		return silentExit(exitIncomplete)
	}
	return nil
}

// gradeInternal has the running node grade through its internal API.
func gradeInternal(ctx context.Context, cfg *config.Config, ic *internalClientFlags, q internalapi.GradeRequest) (*grading.Report, error) {
	cl, who, err := ic.client(cfg, internalapi.OpGrade)
	if err != nil {
		return nil, err
	}
	var o internalapi.GradeAnswer
	if err := cl.Do(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteGrade, "POST "), who, q, &o); err != nil {
		return nil, err
	}
	rep := &grading.Report{Subject: o.Subject, AsOf: o.AsOf, Sources: o.Sources, Grading: policy.Grading{Grade: o.Grade,
		Reasons: o.Reasons, Facts: o.Facts, Inspection: o.Inspection, Revision: o.Revision}}
	for _, p := range o.Problems {
		rep.Problems = append(rep.Problems, grading.Problem{Source: p.Source, RecordID: p.RecordID, Err: schemas.Errorf(p.Code, "%s", p.Code)})
	}
	return rep, nil
}

type gradeOut struct {
	Subject  string   `json:"subject"`
	AsOf     string   `json:"as_of"`
	Grade    string   `json:"grade"`
	Reasons  any      `json:"reasons"`
	Facts    any      `json:"facts"`
	Inspect  any      `json:"inspection"`
	Revision string   `json:"policy_revision"`
	Sources  []string `json:"sources"`
	Problems []string `json:"problems,omitempty"`
}

func gradeJSON(r *grading.Report) gradeOut {
	o := gradeOut{Subject: r.Subject, AsOf: r.AsOf, Grade: r.Grading.Grade, Reasons: r.Grading.Reasons, Facts: r.Grading.Facts,
		Inspect: r.Grading.Inspection, Revision: r.Grading.Revision, Sources: r.Sources}
	for _, p := range r.Problems {
		o.Problems = append(o.Problems, problemText(p))
	}
	return o
}

func problemText(p grading.Problem) string {
	if p.RecordID != "" {
		return fmt.Sprintf("%s/%s: %v", p.Source, p.RecordID, p.Err)
	}
	return fmt.Sprintf("%s: %v", p.Source, p.Err)
}

func printGrade(w io.Writer, r *grading.Report) {
	fmt.Fprintf(w, "credit grade of %s as of %s: %s\n", r.Subject, r.AsOf, r.Grading.Grade)
	fmt.Fprintf(w, "  sources: %s\n", strings.Join(r.Sources, ", "))
	if len(r.Grading.Reasons) == 0 {
		fmt.Fprintln(w, "  reasons: none (no rule fired)")
	}
	for _, x := range r.Grading.Reasons {
		fmt.Fprintf(w, "  reason %-28s -> %s (count %d)\n", x.Code, x.Grade, x.Count)
	}
	in := r.Grading.Inspection
	fmt.Fprintf(w, "  inspection: %g%% of subjects drawn; %s", in.RatioPercent, in.Frequency)
	if in.KeySupervision {
		fmt.Fprint(w, " [KEY SUPERVISION]")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  policy %s\n", r.Grading.Revision)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  PROBLEM %s\n", problemText(p))
	}
	if !r.Complete() {
		fmt.Fprintln(w, "INCOMPLETE: the grade may be better than the subject deserves")
	}
}
