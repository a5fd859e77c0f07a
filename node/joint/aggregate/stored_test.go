package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/aggregate"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
)

var (
	_ aggregate.AnswerStore = (*store.SQLite)(nil)
	_ aggregate.AnswerStore = (*store.Postgres)(nil)
)

// taxData is 100 members with one feature.
func taxData() *joint.Dataset {
	d := &joint.Dataset{Features: []string{"tax_paid"}}
	for i := range 100 {
		d.IDs = append(d.IDs, fmt.Sprintf("SME%04d", i))
		d.X = append(d.X, []float64{float64(i % 10)})
	}
	return d
}

// engineOptions are the two ways of keeping ledger and history in the store.
var engineOptions = []struct {
	name string
	opts func(st *store.SQLite) aggregate.Options
}{
	{"StoredRecorder", func(st *store.SQLite) aggregate.Options {
		return aggregate.Options{MinCohort: 20,
			Recorder: aggregate.StoredRecorder{Store: st, Dataset: "tax", Limit: dpnoise.Budget{Epsilon: big.NewRat(1, 1)}}}
	}},
	{"StoredLedgerAndHistory", func(st *store.SQLite) aggregate.Options {
		return aggregate.Options{MinCohort: 20,
			Ledger:  aggregate.StoredLedger{Store: st, Limit: dpnoise.Budget{Epsilon: big.NewRat(1, 1)}},
			History: aggregate.StoredHistory{Store: st, Dataset: "tax"}}
	}},
}

func newEngine(t *testing.T, opts aggregate.Options) *aggregate.Engine {
	t.Helper()
	e, err := aggregate.New(taxData(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func members(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("SME%04d", i))
	}
	return out
}

// TestStoredLedgerAndHistorySurviveRestart: the ε spent and the query sets answered are in the
// store, so a restarted engine still refuses a spend beyond the limit and a differencing query.
func TestStoredLedgerAndHistorySurviveRestart(t *testing.T) {
	for _, eo := range engineOptions {
		t.Run(eo.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "node.db")
			st, err := store.OpenSQLite(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			e := newEngine(t, eo.opts(st))
			q := aggregate.Query{Requester: "bank-a", Kind: aggregate.Count, Members: members(0, 50), Epsilon: big.NewRat(3, 5)}
			if _, err := e.Answer(ctx, q); err != nil {
				t.Fatal(err)
			}
			st.Close()

			if st, err = store.OpenSQLite(ctx, path); err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			e = newEngine(t, eo.opts(st))
			// Differencing against the set answered before the restart, by any requester.
			diff := aggregate.Query{Requester: "bank-b", Kind: aggregate.Count, Members: members(0, 49), Epsilon: big.NewRat(1, 10)}
			if _, err := e.Answer(ctx, diff); !errors.Is(err, aggregate.ErrDifferencing) {
				t.Fatalf("differencing after restart: %v", err)
			}
			// bank-a has 2/5 left: 3/5 more is refused, 2/5 passes, then nothing is left.
			if _, err := e.Answer(ctx, q); !errors.Is(err, aggregate.ErrBudgetExceeded) {
				t.Fatalf("over budget after restart: %v", err)
			}
			q.Epsilon = big.NewRat(2, 5)
			if _, err := e.Answer(ctx, q); err != nil {
				t.Fatalf("the remaining budget: %v", err)
			}
			q.Epsilon = big.NewRat(1, 1000)
			if _, err := e.Answer(ctx, q); !errors.Is(err, aggregate.ErrBudgetExceeded) {
				t.Fatalf("exhausted budget: %v", err)
			}
			// Another requester has its own budget.
			q.Requester = "bank-b"
			if _, err := e.Answer(ctx, q); err != nil {
				t.Fatalf("bank-b: %v", err)
			}
		})
	}
}

// TestStoredRecorderRefusalsRecordNothing: a query refused for differencing, as malformed (in
// the package's order of rules) or for its budget leaves no query set and no spend behind.
func TestStoredRecorderRefusalsRecordNothing(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEngine(t, engineOptions[0].opts(st))
	if _, err := e.Answer(ctx, aggregate.Query{Requester: "bank-a", Kind: aggregate.Count, Members: members(0, 50), Epsilon: big.NewRat(1, 2)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    aggregate.Query
		want error
	}{
		{"differencing before a malformed delta", aggregate.Query{Requester: "bank-b", Kind: aggregate.Count, Members: members(0, 49),
			Epsilon: big.NewRat(1, 10), Delta: big.NewRat(2, 1)}, aggregate.ErrDifferencing},
		{"malformed delta", aggregate.Query{Requester: "bank-b", Kind: aggregate.Count, Members: members(50, 100),
			Epsilon: big.NewRat(1, 10), Delta: big.NewRat(2, 1)}, aggregate.ErrQuery},
		{"over budget", aggregate.Query{Requester: "bank-a", Kind: aggregate.Count, Members: members(50, 100), Epsilon: big.NewRat(3, 5)},
			aggregate.ErrBudgetExceeded},
	} {
		if _, err := e.Answer(ctx, tc.q); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	sets, err := st.AggregateQuerySets(ctx, "tax")
	if err != nil || len(sets) != 1 {
		t.Fatalf("%d query sets recorded (%v), want only the answered one", len(sets), err)
	}
	// bank-a spent 1/2: exactly 1/2 is left.
	q := aggregate.Query{Requester: "bank-a", Kind: aggregate.Count, Members: members(50, 100), Epsilon: big.NewRat(1, 2)}
	if _, err := e.Answer(ctx, q); err != nil {
		t.Fatalf("the remaining half: %v", err)
	}
}

func TestRecorderReplacesLedgerAndHistory(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts := engineOptions[0].opts(st)
	opts.Ledger = aggregate.NewMemoryLedger(dpnoise.Budget{Epsilon: big.NewRat(1, 1)})
	if _, err := aggregate.New(taxData(), opts); err == nil {
		t.Fatal("an engine with both a Recorder and a Ledger was made")
	}
}

// TestStoredRecorderRaceAcrossProcesses: engines on two store handles of one database (two node
// processes) answer concurrently query sets that pairwise differ by 2 < MinCohort members, with
// no lock of their own around Answer: exactly one is answered, on both backends.
func TestStoredRecorderRaceAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.db")
	url := pgtest.Schema(t)
	for _, b := range []struct {
		name string
		open func(ctx context.Context) (aggregate.AnswerStore, func() error, error)
	}{
		{"SQLite", func(ctx context.Context) (aggregate.AnswerStore, func() error, error) {
			st, err := store.OpenSQLite(ctx, path)
			if err != nil {
				return nil, nil, err
			}
			return st, st.Close, nil
		}},
		{"Postgres", func(ctx context.Context) (aggregate.AnswerStore, func() error, error) {
			st, err := store.OpenPostgres(ctx, url)
			if err != nil {
				return nil, nil, err
			}
			return st, st.Close, nil
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			var handles []aggregate.AnswerStore
			for range 2 {
				st, closeFn, err := b.open(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				defer closeFn()
				handles = append(handles, st)
			}
			const n = 16
			base := members(0, 60)
			var answered, refused atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					e := newEngine(t, aggregate.Options{MinCohort: 10, Recorder: aggregate.StoredRecorder{Store: handles[i%2],
						Dataset: "tax", Limit: dpnoise.Budget{Epsilon: big.NewRat(1000, 1)}}})
					_, err := e.Answer(t.Context(), aggregate.Query{Requester: fmt.Sprint("m", i), Kind: aggregate.Count,
						Members: slices.Delete(slices.Clone(base), i, i+1), Epsilon: big.NewRat(1, 10)})
					switch {
					case err == nil:
						answered.Add(1)
					case errors.Is(err, aggregate.ErrDifferencing):
						refused.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if answered.Load() != 1 || refused.Load() != n-1 {
				t.Fatalf("answered %d, refused %d of %d overlapping query sets; want exactly 1 answered", answered.Load(), refused.Load(), n)
			}
		})
	}
}

// TestStoredRecorderReportsTotalSpend: Spent is told the requester's total ε at this host once
// an answer is admitted, and is not called for a refused query.
func TestStoredRecorderReportsTotalSpend(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var totals []string
	e := newEngine(t, aggregate.Options{MinCohort: 20, Recorder: aggregate.StoredRecorder{Store: st, Dataset: "tax",
		Limit: dpnoise.Budget{Epsilon: big.NewRat(1, 1)}, Spent: func(b dpnoise.Budget) { totals = append(totals, b.Epsilon.RatString()) }}})
	for _, q := range []aggregate.Query{
		{Requester: "bank-a", Kind: aggregate.Count, Members: members(0, 25), Epsilon: big.NewRat(1, 4)},
		{Requester: "bank-b", Kind: aggregate.Count, Members: members(25, 50), Epsilon: big.NewRat(1, 10)},
		{Requester: "bank-a", Kind: aggregate.Count, Members: members(50, 75), Epsilon: big.NewRat(1, 2)},
	} {
		if _, err := e.Answer(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Answer(ctx, aggregate.Query{Requester: "bank-a", Kind: aggregate.Count, Members: members(75, 100),
		Epsilon: big.NewRat(1, 2)}); !errors.Is(err, aggregate.ErrBudgetExceeded) {
		t.Fatalf("over budget: %v", err)
	}
	if got := strings.Join(totals, " "); got != "1/4 1/10 3/4" {
		t.Fatalf("totals %q, want 1/4 1/10 3/4", got)
	}
}
