package rights_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// Concurrent subject-rights writers, as a busy provider (or two operators)
// would make them: of simultaneous objections to one record exactly one is
// filed; of simultaneous resolutions of one objection exactly one wins,
// while filings on that record race it; free reports never exceed the
// limit; every write that succeeded has its own dense log index, and no
// writer fails for any other reason (on PostgreSQL: no deadlock between a
// resolution and a filing, which lock the log head and the objection row).
func TestConcurrentRightsWriters(t *testing.T) {
	eachBackend(t, func(t *testing.T, openStore func(t *testing.T) testStore) {
		ctx := context.Background()
		st := openStore(t)
		if err := st.ImportRecords(ctx, []records.Record{
			rec(subjA, "tax_payment", "t1", `{"year":2025}`, t0),
			rec(subjA, "tax_payment", "t2", `{"year":2024}`, t0),
		}); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var mu sync.Mutex
		count := map[string]int{}
		note := func(what string, err error) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				count[what]++
			case errors.Is(err, store.ErrAlreadyOpen), errors.Is(err, store.ErrNotOpen), errors.Is(err, store.ErrFreeReportsExhausted):
				count[what+" refused"]++
			default:
				t.Errorf("%s: %v", what, err)
			}
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { note("filed t1", fileObjection(t, st, fmt.Sprintf("a-%d", i), subjA, "tax_payment", "t1", t0)) })
			wg.Go(func() {
				_, err := st.TakeFreeReport(ctx, subjA, 2026, 3)
				note("free report", err)
			})
		}
		wg.Wait()
		if count["filed t1"] != 1 || count["filed t1 refused"] != n-1 || count["free report"] != 3 || count["free report refused"] != n-3 {
			t.Fatalf("counts %v", count)
		}

		if err := fileObjection(t, st, "b-0", subjA, "tax_payment", "t2", t0); err != nil {
			t.Fatal(err)
		}
		m := &rights.Manager{Store: st, Operator: "operator:test", Clock: func() time.Time { return t0.Add(time.Hour) }}
		for i := range n {
			wg.Go(func() {
				_, _, err := m.ResolveObjection(ctx, "b-0", schemas.ObjectionUpheld, fmt.Sprint("answer ", i))
				note("resolved b-0", err)
			})
			wg.Go(func() {
				note("filed t2", fileObjection(t, st, fmt.Sprintf("b-%d", i+1), subjA, "tax_payment", "t2", t0.Add(time.Minute)))
			})
		}
		wg.Wait()
		if count["resolved b-0"] != 1 || count["resolved b-0 refused"] != n-1 || count["filed t2"] > 1 {
			t.Fatalf("counts %v", count)
		}
		open, err := st.Objections(ctx, store.RightsFilter{Subject: subjA, Status: schemas.ObjectionOpen})
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + count["filed t2"]; len(open) != want { // a-*, and b-* filed after the resolution
			t.Fatalf("%d open objections, want %d", len(open), want)
		}
		wantSize := uint64(1 + 1 + 1 + count["filed t2"]) // filed t1, b-0, its resolution, filed t2
		size, err := st.InquiryLogSize(ctx)
		if err != nil || size != wantSize {
			t.Fatalf("log size %d (%v), want %d", size, err, wantSize)
		}
		if _, err := st.InquiryLeaves(ctx, 0, size); err != nil {
			t.Fatalf("log not dense: %v", err)
		}
	})
}
