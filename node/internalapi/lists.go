package internalapi

import (
	"context"
	"net/http"

	"github.com/creditexchange/node/node/lists"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// ListsCheckRequest is the body of RouteListsCheck: a joint punishment
// check of subject at the named providers.
type ListsCheckRequest struct {
	Subject   string   `json:"subject"`
	Providers []string `json:"providers"`
}

// ListsCheckAnswer is the merged outcome. Listed is true if any entry is in
// force; Complete is false if a provider did not answer (then the check
// cannot clear the subject).
type ListsCheckAnswer struct {
	Subject  string            `json:"subject"`
	Listed   bool              `json:"listed"`
	Complete bool              `json:"complete"`
	Checked  []string          `json:"checked"`
	Failed   []ListsFailure    `json:"failed"`
	Findings []ListsFinding    `json:"findings"`
	Measures []ListsMeasureSet `json:"measures"`
}

// ListsFailure is a provider that did not answer, with its code.
type ListsFailure struct {
	Provider string       `json:"provider"`
	Code     schemas.Code `json:"code"`
}

// ListsFinding is one entry a provider returned and whether it is in force.
type ListsFinding struct {
	Provider string      `json:"provider"`
	RecordID string      `json:"record_id"`
	Entry    lists.Entry `json:"entry"`
	InForce  bool        `json:"in_force"`
}

// ListsMeasureSet is one measure in force, merged across entries.
type ListsMeasureSet struct {
	Code        string   `json:"code"`
	Description string   `json:"description"`
	Until       string   `json:"until,omitempty"`
	ImposedBy   []string `json:"imposed_by"`
}

func (s *Server) listsRoute() route[ListsCheckRequest] {
	return route[ListsCheckRequest]{
		op: OpLists, needsRef: true,
		parse: func(_ *http.Request, body []byte) (*ListsCheckRequest, *schemas.Error) {
			var q ListsCheckRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed lists check")
			}
			if len(q.Providers) == 0 || !schemas.UniqueNames(q.Providers) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "providers must list unique member ids")
			}
			if _, _, err := records.NormalizeSubject(q.Subject); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad subject id")
			}
			return &q, nil
		},
		scope: func(q *ListsCheckRequest) (string, []string) { return lists.Purpose, q.Providers },
		run: func(ctx context.Context, c *call, q *ListsCheckRequest) (any, *schemas.Error) {
			subject, _, _ := records.NormalizeSubject(q.Subject)
			out, err := (&lists.Checker{Querier: callerQuerier{s.opts.Peer, c.caller(s)}, Clock: s.opts.Clock}).Check(ctx, subject, q.Providers)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeInternal, err, "lists check failed")
			}
			ans := ListsCheckAnswer{Subject: out.Subject, Listed: out.Listed(), Complete: out.Complete(), Checked: nonNil(out.Checked),
				Failed: []ListsFailure{}, Findings: []ListsFinding{}, Measures: []ListsMeasureSet{}}
			for _, f := range out.Failed {
				ans.Failed = append(ans.Failed, ListsFailure{Provider: f.Provider, Code: schemas.CodeOf(f.Err)})
			}
			for _, f := range out.Findings {
				ans.Findings = append(ans.Findings, ListsFinding{Provider: f.Provider, RecordID: f.RecordID, Entry: f.Entry, InForce: f.Status.InForce})
			}
			for _, m := range out.Measures {
				ans.Measures = append(ans.Measures, ListsMeasureSet{Code: m.Code, Description: m.Description, Until: m.Until, ImposedBy: nonNil(m.ImposedBy)})
			}
			return ans, nil
		},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
