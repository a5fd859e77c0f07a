package internalapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/creditexchange/node/node/grading"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/uscc"
)

// Grading is what the grade operation needs of the node: its own records
// and the grading rules of the policy in force.
type Grading struct {
	Local  grading.RecordReader // the node's store
	Grader grading.Grader       // the policy in force
}

// GradeRequest is RouteGrade's body: the subject (a USCC), the peers also
// asked (by id, or every peer the client may ask with all_peers), and the day
// graded (YYYY-MM-DD; default today).
type GradeRequest struct {
	Subject  string   `json:"subject"`
	Peers    []string `json:"peers,omitempty"`
	AllPeers bool     `json:"all_peers,omitempty"`
	At       string   `json:"at,omitempty"`
	subject  string
	at       time.Time
}

// GradeAnswer is a subject's credit grade, as `creditnode grade --json`
// prints it, with whether every source answered.
type GradeAnswer struct {
	Subject    string               `json:"subject"`
	AsOf       string               `json:"as_of"`
	Grade      string               `json:"grade"`
	Reasons    []policy.GradeReason `json:"reasons"`
	Facts      map[string]int64     `json:"facts"`
	Inspection policy.Inspection    `json:"inspection"`
	Revision   string               `json:"policy_revision"`
	Sources    []string             `json:"sources"`
	Complete   bool                 `json:"complete"`
	Problems   []GradeProblem       `json:"problems"`
}

// GradeProblem is a source or record that could not be used: the grade is
// then incomplete and may be better than the subject deserves.
type GradeProblem struct {
	Source   string       `json:"source"`
	RecordID string       `json:"record_id,omitempty"`
	Code     schemas.Code `json:"code"`
}

func (s *Server) gradeRoute() route[GradeRequest] {
	return route[GradeRequest]{
		op: OpGrade, needsRef: true,
		parse: func(_ *http.Request, body []byte) (*GradeRequest, *schemas.Error) {
			if s.opts.Grading == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node grades no subjects through its internal API")
			}
			var q GradeRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed grade request")
			}
			if q.AllPeers && len(q.Peers) > 0 || !schemas.UniqueNames(q.Peers) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "peers must list unique member ids, or all_peers be set, not both")
			}
			var err error
			if q.subject, err = uscc.Normalize(q.Subject); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad subject: a grade is of a USCC")
			}
			q.at = s.opts.Clock()
			if q.At != "" {
				if q.at, err = time.Parse(time.DateOnly, q.At); err != nil {
					return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "at must be a day, YYYY-MM-DD")
				}
			}
			return &q, nil
		},
		scope: func(q *GradeRequest) (string, []string) { return grading.Purpose, q.Peers },
		run: func(ctx context.Context, c *call, q *GradeRequest) (any, *schemas.Error) {
			var asks []grading.Ask
			var problems []grading.Problem
			if q.AllPeers || len(q.Peers) > 0 {
				reg, err := s.opts.Registry(s.opts.Clock())
				if err != nil {
					return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
				}
				peers := grading.Peers(reg.Doc().Members, s.opts.ID, q.Peers, q.AllPeers)
				// all_peers is every peer this client may ask.
				peers = slices.DeleteFunc(peers, func(p string) bool { return !c.client.AllowsProvider(p) })
				if asks, problems, err = grading.PlanAsks(ctx, s.opts.Peer, reg, peers); err != nil {
					return nil, schemas.AsError(err, schemas.CodeInternal, "catalogues unavailable")
				}
			}
			g := &grading.Gatherer{Local: s.opts.Grading.Local, Self: s.opts.ID, Querier: callerQuerier{s.opts.Peer, c.caller(s)}}
			srcs, gp, err := g.Gather(ctx, q.subject, asks)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "this node's records unavailable")
			}
			rep, err := grading.Grade(ctx, s.opts.Grading.Grader, q.subject, srcs, q.at, s.validator)
			if err != nil {
				return nil, schemas.AsError(err, schemas.CodeInternal, "grading failed")
			}
			rep.Problems = append(append(problems, gp...), rep.Problems...)
			ans := GradeAnswer{Subject: rep.Subject, AsOf: rep.AsOf, Grade: rep.Grading.Grade, Reasons: rep.Grading.Reasons,
				Facts: rep.Grading.Facts, Inspection: rep.Grading.Inspection, Revision: rep.Grading.Revision,
				Sources: nonNil(rep.Sources), Complete: rep.Complete(), Problems: []GradeProblem{}}
			if ans.Reasons == nil {
				ans.Reasons = []policy.GradeReason{}
			}
			if ans.Facts == nil {
				ans.Facts = map[string]int64{}
			}
			for _, p := range rep.Problems {
				ans.Problems = append(ans.Problems, GradeProblem{Source: p.Source, RecordID: p.RecordID, Code: schemas.CodeOf(p.Err)})
			}
			return ans, nil
		},
	}
}
