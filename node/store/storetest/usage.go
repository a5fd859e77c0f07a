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
	AllowedQueries(ctx context.Context, requester, subject string, since time.Time) (int, error)
}

// RunUsage runs the usage suite.
func RunUsage[B UsageBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	runSuite(t, newDB, []suiteCase[func(context.Context) (B, error)]{
		{"AllowedQueriesCount", testAllowedQueries[B]},
	})
}

// testAllowedQueries: only allowed queries, by that requester, about that
// subject, from the start of the period on, count.
func testAllowedQueries[B UsageBackend](t *testing.T, o func(context.Context) (B, error)) {
	s := openWith(t, o)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	add := func(at time.Time, requester, subject, decision string) {
		t.Helper()
		l, err := inquirylog.NewLeaf(schemas.InquiryEntry{
			Time: at.Format(time.RFC3339Nano), Kind: schemas.KindQuery, Requester: requester,
			Subject: subject, Decision: decision,
		}, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendInquiry(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	add(t0.Add(-time.Nanosecond), "bank-a", "S1", "allow") // before the period
	add(t0, "bank-a", "S1", "allow")                       // boundary: counted
	add(t0.Add(time.Hour), "bank-a", "S1", "allow")
	add(t0.Add(time.Hour), "bank-a", "S1", "deny")  // denials do not count
	add(t0.Add(time.Hour), "bank-b", "S1", "allow") // another requester
	add(t0.Add(time.Hour), "bank-a", "S2", "allow") // another subject
	n, err := s.AllowedQueries(ctx, "bank-a", "S1", t0)
	if err != nil || n != 2 {
		t.Fatalf("AllowedQueries = %d, %v; want 2", n, err)
	}
}
