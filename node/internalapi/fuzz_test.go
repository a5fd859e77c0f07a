package internalapi

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/schemas"
)

// FuzzQueryRequest: the query body parser never panics, and what it accepts
// names a provider, a purpose and unique categories.
func FuzzQueryRequest(f *testing.F) {
	f.Add([]byte(queryBody("loan_approval", "tax-dept")))
	f.Add([]byte(`{"provider":"tax-dept","provider":"x"}`))
	f.Add([]byte(`{"Provider":"tax-dept","subject":"` + testUSCC + `","purpose":"p","categories":["a","a"]}`))
	f.Add([]byte(`[]`))
	s := &Server{}
	parse := s.queryRoute().parse
	f.Fuzz(func(t *testing.T, body []byte) {
		q, e := parse(nil, body)
		if e != nil {
			return
		}
		if q.Provider == "" || q.Purpose == "" || len(q.Categories) == 0 {
			t.Fatalf("accepted an incomplete query: %+v", q)
		}
	})
}

// FuzzAuditQuery: the audit search's parameters never panic the parser, and
// an accepted search has a filter and a limit in range.
func FuzzAuditQuery(f *testing.F) {
	f.Add("staff_id=staff-1&subject=" + testUSCC)
	f.Add("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&limit=5")
	f.Add("limit=0")
	f.Add("purpose=a&purpose=b")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{URL: &url.URL{RawQuery: raw}}
		q, e := parseAudit(r, nil)
		if e != nil {
			return
		}
		if q.Limit < 1 || q.Limit > auditMaxLimit {
			t.Fatalf("limit %d accepted", q.Limit)
		}
		if q.Subject == "" && q.StaffID == "" && q.BusinessRef == "" && q.Purpose == "" && q.From.IsZero() && q.To.IsZero() {
			t.Fatal("a search without a filter was accepted")
		}
	})
}

// fuzzServer is a Server whose new-operation parsers are enabled.
func fuzzServer(t testing.TB) *Server {
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	return &Server{validator: cv, opts: Options{Feeds: (*feeds.Subscriber)(nil), Grading: &Grading{}, Joint: (*remote.Client)(nil), Clock: time.Now}}
}

// FuzzFeedPullRequest: the feed pull body parser never panics, and what it
// accepts names a provider and a known record category.
func FuzzFeedPullRequest(f *testing.F) {
	f.Add([]byte(`{"provider":"market-reg","feed":"abnormal_operation"}`))
	f.Add([]byte(`{"provider":"market-reg","feed":"abnormal_operation","Feed":"x"}`))
	f.Add([]byte(`{"provider":"","feed":"nope"}`))
	s := fuzzServer(f)
	parse := s.feedPullRoute().parse
	f.Fuzz(func(t *testing.T, body []byte) {
		q, e := parse(nil, body)
		if e != nil {
			return
		}
		if q.Provider == "" || !s.validator.Known(q.Feed) {
			t.Fatalf("accepted %+v", q)
		}
	})
}

// FuzzGradeRequest: the grade body parser never panics, and what it accepts
// names a USCC and either unique peers or all_peers.
func FuzzGradeRequest(f *testing.F) {
	f.Add([]byte(`{"subject":"` + testUSCC + `","peers":["market-reg"],"at":"2025-06-30"}`))
	f.Add([]byte(`{"subject":"` + testUSCC + `","peers":["a"],"all_peers":true}`))
	f.Add([]byte(`{"subject":"x","at":"2025-13-01"}`))
	s := fuzzServer(f)
	parse := s.gradeRoute().parse
	f.Fuzz(func(t *testing.T, body []byte) {
		q, e := parse(nil, body)
		if e != nil {
			return
		}
		if q.subject == "" || q.AllPeers && len(q.Peers) > 0 || !schemas.UniqueNames(q.Peers) || q.at.IsZero() {
			t.Fatalf("accepted %+v", q)
		}
	})
}

// FuzzJointHostsRequest: the joint status/cancel body parser never panics,
// and what it accepts names a job and 1 to maxJointHosts unique hosts.
func FuzzJointHostsRequest(f *testing.F) {
	f.Add([]byte(`{"job":"job-1","hosts":["tax-dept"]}`))
	f.Add([]byte(`{"job":"","hosts":[]}`))
	f.Add([]byte(`{"job":"j","hosts":["a","a"]}`))
	s := fuzzServer(f)
	parse := s.jointHostsRoute(false).parse
	f.Fuzz(func(t *testing.T, body []byte) {
		q, e := parse(nil, body)
		if e != nil {
			return
		}
		if q.Job == "" || len(q.Hosts) == 0 || len(q.Hosts) > maxJointHosts || !schemas.UniqueNames(q.Hosts) {
			t.Fatalf("accepted %+v", q)
		}
	})
}
