package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
)

// CategoryBackend is the store as sweeps over one category (overdue
// commitments) use it.
type CategoryBackend interface {
	Close() error
	ImportRecords(ctx context.Context, recs []records.Record) error
	RecordsInCategory(ctx context.Context, category string, limit int) ([]records.Record, error)
}

// RunCategory runs the per-category read suite.
func RunCategory[B CategoryBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	runSuite(t, newDB, []suiteCase[func(context.Context) (B, error)]{
		{"RecordsInCategory", testRecordsInCategory[B]},
	})
}

// testRecordsInCategory: every subject's records of the category, by
// subject then id, at most limit of them.
func testRecordsInCategory[B CategoryBackend](t *testing.T, o func(context.Context) (B, error)) {
	s := openWith(t, o)
	ctx := t.Context()
	recs := []records.Record{
		record("B", "commitment", "2", 2),
		record("A", "commitment", "1", 1),
		record("A", "tax_payment", "1", 3),
	}
	if err := s.ImportRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecordsInCategory(ctx, "commitment", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !sameRecord(got[0], recs[1]) || !sameRecord(got[1], recs[0]) {
		t.Fatalf("got %+v", got)
	}
	if got, err := s.RecordsInCategory(ctx, "commitment", 1); err != nil || len(got) != 1 || got[0].Subject != "A" {
		t.Fatalf("limit 1: %+v %v", got, err)
	}
	if _, err := s.RecordsInCategory(ctx, "", 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty category: %v, want ErrInvalid", err)
	}
}
