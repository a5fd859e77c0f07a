package store_test

import (
	"testing"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/schemas"
)

// TestPostgresAllowedQueries is the SQLite fair-use count test on
// PostgreSQL: only allowed queries, by that requester, about that subject,
// from the start of the period on.
func TestPostgresAllowedQueries(t *testing.T) {
	ctx := t.Context()
	s, err := store.OpenPostgres(ctx, pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	add(t0.Add(-time.Nanosecond), "bank-a", "S1", "allow")
	add(t0, "bank-a", "S1", "allow")
	add(t0.Add(time.Hour), "bank-a", "S1", "allow")
	add(t0.Add(time.Hour), "bank-a", "S1", "deny")
	add(t0.Add(time.Hour), "bank-b", "S1", "allow")
	add(t0.Add(time.Hour), "bank-a", "S2", "allow")
	n, err := s.AllowedQueries(ctx, "bank-a", "S1", t0)
	if err != nil || n != 2 {
		t.Fatalf("AllowedQueries = %d, %v; want 2", n, err)
	}
}
