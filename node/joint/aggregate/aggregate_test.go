package aggregate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/node/joint"
)

func dataset(n int) *joint.Dataset {
	d := &joint.Dataset{Features: []string{"tax_paid"}}
	for i := range n {
		d.IDs = append(d.IDs, fmt.Sprintf("SME%04d", i))
		d.X = append(d.X, []float64{float64(i % 10)})
	}
	return d
}

func engine(t *testing.T, n int, eps int64) *Engine {
	t.Helper()
	e, err := New(dataset(n), Options{MinCohort: 20, Ledger: NewMemoryLedger(dpnoise.Budget{Epsilon: big.NewRat(eps, 1), Delta: big.NewRat(1, 100000)})})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("SME%04d", i))
	}
	return out
}

var half = big.NewRat(1, 2)

func TestStatisticsAreNoisyButClose(t *testing.T) {
	e := engine(t, 200, 100)
	ctx := context.Background()
	exact := 0
	for i := range 10 {
		r, err := e.Answer(ctx, Query{Requester: fmt.Sprintf("bank-%d", i), Kind: Count, Epsilon: big.NewRat(1, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Value == 200 {
			exact++
		}
		if math.Abs(r.Value-200) > 30 {
			t.Errorf("count %v far from 200", r.Value)
		}
	}
	if exact == 10 {
		t.Error("ten noiseless counts: no noise is added")
	}
	r, err := e.Answer(ctx, Query{Requester: "bank-a", Kind: Mean, Feature: "tax_paid", Lo: 0, Hi: 10, Scale: 10, Epsilon: big.NewRat(4, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Value-4.5) > 1 {
		t.Errorf("mean %v, want about 4.5", r.Value)
	}
	h, err := e.Answer(ctx, Query{Requester: "bank-a", Kind: Histogram, Feature: "tax_paid", Edges: []float64{4.5}, Epsilon: big.NewRat(2, 1), Delta: big.NewRat(1, 1000000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Bins) != 2 || math.Abs(float64(h.Bins[0])-100) > 30 {
		t.Errorf("histogram %v", h.Bins)
	}
}

// Attack 32: a join or aggregate below the minimum cohort size.
func TestRefusesSmallCohort(t *testing.T) {
	e := engine(t, 200, 10)
	_, err := e.Answer(context.Background(), Query{Requester: "bank-a", Kind: Count, Members: append(ids(0, 19), "NOT-A-RECORD"), Epsilon: half})
	if !errors.Is(err, ErrCohortTooSmall) {
		t.Fatalf("err = %v", err)
	}
}

// Attack 32: overlapping aggregates that difference out one member, by one requester or two.
func TestRefusesDifferencing(t *testing.T) {
	e := engine(t, 200, 10)
	ctx := context.Background()
	sum := func(req string, members []string) error {
		_, err := e.Answer(ctx, Query{Requester: req, Kind: Sum, Feature: "tax_paid", Members: members, Hi: 10, Epsilon: half})
		return err
	}
	if err := sum("bank-a", ids(0, 100)); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		req     string
		members []string
	}{
		"one member removed":            {"bank-a", ids(1, 100)},
		"one member added":              {"bank-a", ids(0, 101)},
		"swap one member":               {"bank-a", append(ids(1, 100), "SME0150")},
		"colluding requester":           {"bank-b", ids(0, 99)},
		"removal hidden by unknown ids": {"bank-a", append(ids(0, 99), "NOBODY1", "NOBODY2")},
		"nineteen members removed":      {"bank-a", ids(19, 100)},
	} {
		if err := sum(tc.req, tc.members); !errors.Is(err, ErrDifferencing) {
			t.Errorf("%s: err = %v, want ErrDifferencing", name, err)
		}
	}
	// The same set again, and a set far enough away, are answered.
	if err := sum("bank-a", ids(0, 100)); err != nil {
		t.Errorf("same set: %v", err)
	}
	if err := sum("bank-a", ids(20, 120)); err != nil { // differs in 40 members
		t.Errorf("distant set: %v", err)
	}
}

// Attack 32: a privacy budget already spent; refusals charge nothing, and budgets are per requester.
func TestBudgetPerRequester(t *testing.T) {
	e := engine(t, 200, 1)
	ctx := context.Background()
	count := func(req string) error {
		_, err := e.Answer(ctx, Query{Requester: req, Kind: Count, Epsilon: half})
		return err
	}
	for range 2 {
		if err := count("bank-a"); err != nil {
			t.Fatal(err)
		}
	}
	if err := count("bank-a"); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("third release: %v", err)
	}
	if err := count("bank-b"); err != nil {
		t.Fatalf("another requester's budget: %v", err)
	}
	// A histogram of many bins costs ε once.
	_, err := e.Answer(ctx, Query{Requester: "bank-c", Kind: Histogram, Feature: "tax_paid", Edges: []float64{1, 2, 3, 4, 5, 6, 7, 8}, Epsilon: big.NewRat(1, 1)})
	if err != nil {
		t.Fatalf("histogram within budget: %v", err)
	}
	// A refused query (small cohort) charges nothing.
	if _, err := e.Answer(ctx, Query{Requester: "bank-d", Kind: Count, Members: ids(0, 5), Epsilon: big.NewRat(1, 1)}); !errors.Is(err, ErrCohortTooSmall) {
		t.Fatal(err)
	}
	if err := count("bank-d"); err != nil {
		t.Fatalf("budget charged by a refusal: %v", err)
	}
}

func TestRejectsMalformedQueries(t *testing.T) {
	e := engine(t, 200, 10)
	for name, q := range map[string]Query{
		"no epsilon":      {Requester: "b", Kind: Count},
		"no requester":    {Kind: Count, Epsilon: half},
		"unknown feature": {Requester: "b", Kind: Sum, Feature: "x", Hi: 1, Epsilon: half},
		"unknown kind":    {Requester: "b", Kind: "median", Feature: "tax_paid", Epsilon: half},
		"inverted clamp":  {Requester: "b", Kind: Sum, Feature: "tax_paid", Lo: 5, Hi: 1, Epsilon: half},
		"unsorted edges":  {Requester: "b", Kind: Histogram, Feature: "tax_paid", Edges: []float64{2, 1}, Epsilon: half},
		"nan clamp":       {Requester: "b", Kind: Mean, Feature: "tax_paid", Lo: math.NaN(), Hi: 1, Epsilon: half},
	} {
		if _, err := e.Answer(context.Background(), q); !errors.Is(err, ErrQuery) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
