package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/store"
)

// AggregateBackend is the store as aggregate statistics (node/joint/aggregate) use it.
type AggregateBackend interface {
	Close() error
	RecordAggregateAnswer(ctx context.Context, dataset, requester string, members []string,
		decide func(querySets [][]string, spends [][]byte) (cost []byte, err error), now time.Time) error
	AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error)
	SpendPrivacyBudget(ctx context.Context, requester string, cost []byte, check func(prior [][]byte) error, now time.Time) error
}

// AggregateOpener opens one database. Called again, even while a Backend it returned is
// open, it opens another handle on the same database, as a second node process would.
type AggregateOpener func(ctx context.Context) (AggregateBackend, error)

// RunAggregate runs the aggregate suite; newDB returns an opener of a new, empty database per
// test.
func RunAggregate(t *testing.T, newDB func(t *testing.T) AggregateOpener) {
	runSuite(t, newDB, []suiteCase[AggregateOpener]{
		{"RecordsSetAndSpend", testAggRecords},
		{"RefusalRecordsNothing", testAggRefusal},
		{"EmptySetInvalid", testAggEmpty},
		{"DifferencingRaceTwoHandles", testAggDifferencingRace},
		{"BudgetRaceTwoHandles", testAggBudgetRace},
	})
}

func openAgg(t *testing.T, o AggregateOpener) AggregateBackend { t.Helper(); return openWith(t, o) }

var errAggRefused = errors.New("refused by decide")

// aggAccept is a decider that records what it was given and accepts with cost.
func aggAccept(cost string, sets *[][]string, spends *[][]byte) func([][]string, [][]byte) ([]byte, error) {
	return func(qs [][]string, sp [][]byte) ([]byte, error) {
		*sets, *spends = qs, sp
		return []byte(cost), nil
	}
}

func testAggRecords(t *testing.T, o AggregateOpener) {
	ctx := t.Context()
	b := openAgg(t, o)
	var sets [][]string
	var spends [][]byte
	if err := b.RecordAggregateAnswer(ctx, "tax", "bank-a", []string{"b", "a", "b"}, aggAccept(`{"n":1}`, &sets, &spends), time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(sets) != 0 || len(spends) != 0 {
		t.Fatalf("first answer saw sets %v and spends %q", sets, spends)
	}
	// The same set again, by another requester, and a set on another dataset by bank-a.
	if err := b.RecordAggregateAnswer(ctx, "tax", "bank-b", []string{"a", "b"}, aggAccept(`{"n":2}`, &sets, &spends), time.Now()); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(sets, [][]string{{"a", "b"}}, slices.Equal) || len(spends) != 0 {
		t.Fatalf("second answer saw sets %v and spends %q; want the first set, sorted and de-duplicated, and no spends of bank-b", sets, spends)
	}
	if err := b.RecordAggregateAnswer(ctx, "fees", "bank-a", []string{"c"}, aggAccept(`{"n":3}`, &sets, &spends), time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(sets) != 0 || len(spends) != 1 || string(spends[0]) != `{"n":1}` {
		t.Fatalf("answer on another dataset saw sets %v and spends %q; want no sets and bank-a's one spend", sets, spends)
	}
	got, err := b.AggregateQuerySets(ctx, "tax")
	if err != nil || !slices.EqualFunc(got, [][]string{{"a", "b"}}, slices.Equal) {
		t.Fatalf("query sets of tax %v (%v); want the one set once", got, err)
	}
	// SpendPrivacyBudget sees the spends RecordAggregateAnswer made.
	var prior [][]byte
	if err := b.SpendPrivacyBudget(ctx, "bank-a", []byte(`{"n":4}`), func(p [][]byte) error { prior = p; return nil }, time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(prior) != 2 || string(prior[0]) != `{"n":1}` || string(prior[1]) != `{"n":3}` {
		t.Fatalf("bank-a's spends %q, want both, in order", prior)
	}
}

func testAggRefusal(t *testing.T, o AggregateOpener) {
	ctx := t.Context()
	b := openAgg(t, o)
	err := b.RecordAggregateAnswer(ctx, "tax", "bank-a", []string{"a"}, func([][]string, [][]byte) ([]byte, error) {
		return nil, fmt.Errorf("wrapped: %w", errAggRefused)
	}, time.Now())
	if !errors.Is(err, errAggRefused) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("refusal: %v, want decide's error unchanged", err)
	}
	if sets, err := b.AggregateQuerySets(ctx, "tax"); err != nil || len(sets) != 0 {
		t.Fatalf("a refused answer recorded the sets %v (%v)", sets, err)
	}
	var prior [][]byte
	if err := b.SpendPrivacyBudget(ctx, "bank-a", []byte(`{}`), func(p [][]byte) error { prior = p; return nil }, time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(prior) != 0 {
		t.Fatalf("a refused answer recorded the spends %q", prior)
	}
}

func testAggEmpty(t *testing.T, o AggregateOpener) {
	b := openAgg(t, o)
	called := false
	err := b.RecordAggregateAnswer(t.Context(), "tax", "bank-a", nil, func([][]string, [][]byte) ([]byte, error) {
		called = true
		return []byte(`{}`), nil
	}, time.Now())
	if !errors.Is(err, store.ErrInvalid) || called {
		t.Fatalf("empty query set: %v (decide called: %v), want ErrInvalid before deciding", err, called)
	}
}

// raceAggHandles runs n calls of fn concurrently, alternating between two handles on one database.
func raceAggHandles(t *testing.T, o AggregateOpener, n int, fn func(b AggregateBackend, i int) error) (ok, refused int) {
	t.Helper()
	handles := []AggregateBackend{openAgg(t, o), openAgg(t, o)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(handles[i%2], i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, errAggRefused):
			refused++
		default:
			t.Errorf("call %d: %v", i, err)
		}
	}
	return ok, refused
}

// testAggDifferencingRace: concurrent answers through two handles (two node processes on one
// database) on query sets that pairwise differ by two members, with a decider that refuses a
// set differing from an answered one by fewer than four and takes its time: exactly one is
// answered, and it alone is recorded.
func testAggDifferencingRace(t *testing.T, o AggregateOpener) {
	const n = 16
	base := make([]string, 40)
	for i := range base {
		base[i] = fmt.Sprintf("m%02d", i)
	}
	ok, refused := raceAggHandles(t, o, n, func(b AggregateBackend, i int) error {
		set := slices.Delete(slices.Clone(base), i, i+1)
		return b.RecordAggregateAnswer(t.Context(), "tax", fmt.Sprint("bank-", i), set, func(sets [][]string, _ [][]byte) ([]byte, error) {
			time.Sleep(5 * time.Millisecond) // widen the window between reading and recording
			for _, p := range sets {
				if d := aggSymDiff(set, p); d != 0 && d < 4 {
					return nil, errAggRefused
				}
			}
			return []byte(`{"n":1}`), nil
		}, time.Now())
	})
	if ok != 1 || refused != n-1 {
		t.Fatalf("answered %d, refused %d of %d overlapping query sets; want exactly 1 answered", ok, refused, n)
	}
	b := openAgg(t, o)
	if sets, err := b.AggregateQuerySets(t.Context(), "tax"); err != nil || len(sets) != 1 {
		t.Fatalf("%d query sets recorded (%v), want 1", len(sets), err)
	}
}

// testAggBudgetRace: concurrent answers of one requester on different datasets through two
// handles, and spends through SpendPrivacyBudget, against a budget of five: exactly five pass.
func testAggBudgetRace(t *testing.T, o AggregateOpener) {
	const n, limit = 16, 5
	check := func(prior [][]byte) error {
		time.Sleep(5 * time.Millisecond)
		if len(prior) >= limit {
			return errAggRefused
		}
		return nil
	}
	ok, refused := raceAggHandles(t, o, n, func(b AggregateBackend, i int) error {
		if i%4 == 3 {
			return b.SpendPrivacyBudget(t.Context(), "bank-a", []byte(`{"n":1}`), check, time.Now())
		}
		return b.RecordAggregateAnswer(t.Context(), fmt.Sprint("dataset-", i), "bank-a", []string{"m"}, func(_ [][]string, spends [][]byte) ([]byte, error) {
			return []byte(`{"n":1}`), check(spends)
		}, time.Now())
	})
	if ok != limit || refused != n-limit {
		t.Fatalf("%d spends passed, %d refused, of %d against a budget of %d", ok, refused, n, limit)
	}
}

// aggSymDiff is |a Δ b| for sets given as lists.
func aggSymDiff(a, b []string) int {
	in := func(s []string, x string) bool { return slices.Contains(s, x) }
	d := 0
	for _, x := range a {
		if !in(b, x) {
			d++
		}
	}
	for _, x := range b {
		if !in(a, x) {
			d++
		}
	}
	return d
}
