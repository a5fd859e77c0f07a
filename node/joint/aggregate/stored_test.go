package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/aggregate"
	"github.com/creditexchange/node/node/store"
)

func storedEngine(t *testing.T, st *store.SQLite) *aggregate.Engine {
	t.Helper()
	d := &joint.Dataset{Features: []string{"tax_paid"}}
	for i := range 100 {
		d.IDs = append(d.IDs, fmt.Sprintf("SME%04d", i))
		d.X = append(d.X, []float64{float64(i % 10)})
	}
	e, err := aggregate.New(d, aggregate.Options{MinCohort: 20,
		Ledger:  aggregate.StoredLedger{Store: st, Limit: dpnoise.Budget{Epsilon: big.NewRat(1, 1)}},
		History: aggregate.StoredHistory{Store: st, Dataset: "tax"}})
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
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "node.db")
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	e := storedEngine(t, st)
	q := aggregate.Query{Requester: "bank-a", Kind: aggregate.Count, Members: members(0, 50), Epsilon: big.NewRat(3, 5)}
	if _, err := e.Answer(ctx, q); err != nil {
		t.Fatal(err)
	}
	st.Close()

	if st, err = store.OpenSQLite(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e = storedEngine(t, st)
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
}
