package internalapi

import (
	"net/http"
	"net/url"
	"testing"
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
