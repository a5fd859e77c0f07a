package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// UsageBackend is the store as the fair-use policy counts usage.
type UsageBackend interface {
	Close() error
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
	AllowedQueries(ctx context.Context, requester, subject, purpose string, since time.Time) (store.Usage, error)
}

// RunUsage runs the usage suite.
func RunUsage[B UsageBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	runSuite(t, newDB, []suiteCase[func(context.Context) (B, error)]{
		{"AllowedQueriesCount", testAllowedQueries[B]},
	})
}

// testAllowedQueries: only allowed queries, by that requester, about that
// subject, for that purpose, from the start of the period on, count; the
// oldest counted one is reported.
func testAllowedQueries[B UsageBackend](t *testing.T, o func(context.Context) (B, error)) {
	s := openWith(t, o)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	add := func(at time.Time, requester, subject, purpose, decision string) {
		t.Helper()
		l, err := inquirylog.NewLeaf(schemas.InquiryEntry{
			Time: at.Format(time.RFC3339Nano), Kind: schemas.KindQuery, Requester: requester,
			Subject: subject, Purpose: purpose, Decision: decision,
		}, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendInquiry(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	const loan, post = "loan_approval", "post_loan_management"
	add(t0.Add(-time.Nanosecond), "bank-a", "S1", loan, "allow") // before the period
	add(t0, "bank-a", "S1", loan, "allow")                       // boundary: counted
	add(t0.Add(time.Hour), "bank-a", "S1", loan, "allow")
	add(t0.Add(time.Hour), "bank-a", "S1", loan, "deny")  // denials do not count
	add(t0.Add(time.Hour), "bank-b", "S1", loan, "allow") // another requester
	add(t0.Add(time.Hour), "bank-a", "S2", loan, "allow") // another subject
	add(t0.Add(2*time.Hour), "bank-a", "S1", post, "allow")
	u, err := s.AllowedQueries(ctx, "bank-a", "S1", loan, t0)
	if err != nil || u.Queries != 2 || !u.Oldest.Equal(t0) {
		t.Fatalf("AllowedQueries(loan_approval) = %+v, %v; want 2 queries, oldest %s", u, err, t0)
	}
	u, err = s.AllowedQueries(ctx, "bank-a", "S1", post, t0)
	if err != nil || u.Queries != 1 || !u.Oldest.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("AllowedQueries(post_loan_management) = %+v, %v; want 1 query, oldest %s", u, err, t0.Add(2*time.Hour))
	}
	u, err = s.AllowedQueries(ctx, "bank-a", "S1", "guarantee_review", t0)
	if err != nil || u.Queries != 0 || !u.Oldest.IsZero() {
		t.Fatalf("AllowedQueries(guarantee_review) = %+v, %v; want none", u, err)
	}
}
