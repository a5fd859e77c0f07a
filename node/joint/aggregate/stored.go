package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/creditexchange/node/crypto/dpnoise"
)

// History keeps the query sets answered on one dataset (rule 2), by identifier.
type History interface {
	QuerySets(ctx context.Context) ([][]string, error)
	AddQuerySet(ctx context.Context, members []string) error
}

// record runs decide on the query sets answered on this dataset, as sorted rows of it, and if
// decide returns the release's cost, charges it to requester and records rows as answered, in
// one step (see Recorder). With a Recorder the step is the Recorder's; otherwise it is the
// engine's mutex around its Ledger and History, which excludes this engine's answers only.
func (e *Engine) record(ctx context.Context, requester string, rows []int, decide func(answered [][]int) (dpnoise.Budget, error)) error {
	if e.opts.Recorder != nil {
		return e.opts.Recorder.Record(ctx, requester, e.idsOf(rows), func(answered [][]string) (dpnoise.Budget, error) {
			return decide(e.rowsOf(answered))
		})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	history, err := e.querySets(ctx)
	if err != nil {
		return err
	}
	cost, err := decide(history)
	if err != nil {
		return err
	}
	if err := e.opts.Ledger.Spend(ctx, requester, cost); err != nil {
		return err
	}
	return e.remember(ctx, history, rows)
}

// querySets returns the answered query sets as sorted rows of this dataset.
func (e *Engine) querySets(ctx context.Context) ([][]int, error) {
	if e.opts.History == nil {
		return e.history, nil
	}
	sets, err := e.opts.History.QuerySets(ctx)
	if err != nil {
		return nil, err
	}
	return e.rowsOf(sets), nil
}

// rowsOf maps query sets by identifier to sorted rows of this dataset. Identifiers no longer
// in the dataset are left out: they cannot be singled out by a query on it.
func (e *Engine) rowsOf(sets [][]string) [][]int {
	out := make([][]int, 0, len(sets))
	for _, ids := range sets {
		var rows []int
		for _, id := range ids {
			if r, ok := e.index[id]; ok {
				rows = append(rows, r)
			}
		}
		slices.Sort(rows)
		out = append(out, slices.Compact(rows))
	}
	return out
}

// idsOf maps rows of this dataset to their identifiers.
func (e *Engine) idsOf(rows []int) []string {
	ids := make([]string, len(rows))
	for k, r := range rows {
		ids[k] = e.data.IDs[r]
	}
	return ids
}

// remember records rows as answered unless the same set already is.
func (e *Engine) remember(ctx context.Context, history [][]int, rows []int) error {
	if slices.ContainsFunc(history, func(p []int) bool { return slices.Equal(p, rows) }) {
		return nil
	}
	if e.opts.History == nil {
		e.history = append(e.history, rows)
		return nil
	}
	return e.opts.History.AddQuerySet(ctx, e.idsOf(rows))
}

// QuerySetStore is the store side of StoredHistory (node/store implements it).
type QuerySetStore interface {
	AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error)
	AddAggregateQuerySet(ctx context.Context, dataset string, members []string, now time.Time) error
}

// StoredHistory is a History in the node's store, per named dataset.
type StoredHistory struct {
	Store   QuerySetStore
	Dataset string
}

var _ History = StoredHistory{}

// QuerySets implements History.
func (h StoredHistory) QuerySets(ctx context.Context) ([][]string, error) {
	return h.Store.AggregateQuerySets(ctx, h.Dataset)
}

// AddQuerySet implements History.
func (h StoredHistory) AddQuerySet(ctx context.Context, members []string) error {
	return h.Store.AddAggregateQuerySet(ctx, h.Dataset, members, time.Now())
}

// BudgetStore is the store side of StoredLedger (node/store implements it): it runs check on
// the requester's earlier spends and records cost only if check accepts, atomically.
type BudgetStore interface {
	SpendPrivacyBudget(ctx context.Context, requester string, cost []byte, check func(prior [][]byte) error, now time.Time) error
}

// StoredLedger is a Ledger in the node's store: every spend is a row; a new spend is checked by
// composing every earlier spend of the requester with dpnoise.Accountant under Limit.
type StoredLedger struct {
	Store BudgetStore
	Limit dpnoise.Budget
}

var _ Ledger = StoredLedger{}

// budgetJSON is a Budget with exact rationals ("1/10").
type budgetJSON struct {
	Epsilon string `json:"epsilon,omitempty"`
	Delta   string `json:"delta,omitempty"`
	Rho     string `json:"rho,omitempty"`
}

func encodeBudget(b dpnoise.Budget) ([]byte, error) {
	s := func(r *big.Rat) string {
		if r == nil {
			return ""
		}
		return r.RatString()
	}
	return json.Marshal(budgetJSON{Epsilon: s(b.Epsilon), Delta: s(b.Delta), Rho: s(b.Rho)})
}

func decodeBudget(data []byte) (dpnoise.Budget, error) {
	var j budgetJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return dpnoise.Budget{}, err
	}
	r := func(s string) (*big.Rat, error) {
		if s == "" {
			return nil, nil
		}
		v, ok := new(big.Rat).SetString(s)
		if !ok {
			return nil, fmt.Errorf("aggregate: stored budget %q", s)
		}
		return v, nil
	}
	var b dpnoise.Budget
	var err1, err2, err3 error
	b.Epsilon, err1 = r(j.Epsilon)
	b.Delta, err2 = r(j.Delta)
	b.Rho, err3 = r(j.Rho)
	return b, errors.Join(err1, err2, err3)
}

// Spend implements Ledger.
func (l StoredLedger) Spend(ctx context.Context, requester string, cost dpnoise.Budget) error {
	enc, err := encodeBudget(cost)
	if err != nil {
		return err
	}
	return l.Store.SpendPrivacyBudget(ctx, requester, enc, func(prior [][]byte) error {
		return admit(l.Limit, prior, cost)
	}, time.Now())
}

// admit composes a requester's earlier spends (prior, as encodeBudget wrote them) and cost with
// dpnoise.Accountant under limit: ErrBudgetExceeded if cost does not fit in what remains.
func admit(limit dpnoise.Budget, prior [][]byte, cost dpnoise.Budget) error {
	_, err := admitted(limit, prior, cost)
	return err
}

// admitted is admit, returning the requester's total spend once cost is charged.
func admitted(limit dpnoise.Budget, prior [][]byte, cost dpnoise.Budget) (dpnoise.Budget, error) {
	acct, err := dpnoise.NewAccountant(limit)
	if err != nil {
		return dpnoise.Budget{}, err
	}
	for _, p := range prior {
		b, err := decodeBudget(p)
		if err != nil {
			return dpnoise.Budget{}, err
		}
		if err := acct.Spend(b); err != nil {
			return dpnoise.Budget{}, fmt.Errorf("aggregate: stored spends exceed the limit (was it lowered?): %w", err)
		}
	}
	if err := acct.Spend(cost); err != nil {
		return dpnoise.Budget{}, err
	}
	return acct.Spent(), nil
}

// AnswerStore is the store side of StoredRecorder (node/store implements it).
// RecordAggregateAnswer calls decide with the query sets answered on dataset and requester's
// earlier spends (as encodeBudget wrote them) and, if decide returns a cost, records it as a
// spend of requester and members as a query set of dataset; decide's error is returned
// unchanged and nothing is recorded. All of it is one transaction that excludes every other
// RecordAggregateAnswer on the dataset and every spend of the requester, in any process
// sharing the database.
type AnswerStore interface {
	RecordAggregateAnswer(ctx context.Context, dataset, requester string, members []string,
		decide func(querySets [][]string, spends [][]byte) (cost []byte, err error), now time.Time) error
}

// StoredRecorder is a Recorder in the node's store for one named dataset: its query sets (as
// StoredHistory keeps them) and every requester's spends under Limit (as StoredLedger does),
// checked and recorded in one store transaction. Engines in several processes sharing the
// database therefore never both answer two query sets that single out a member, nor spend the
// same remainder twice.
type StoredRecorder struct {
	Store   AnswerStore
	Dataset string
	Limit   dpnoise.Budget
	// Spent, if set, is told the requester's total spend under Limit once an answer's cost
	// is admitted (the answer fails if the store then cannot record it).
	Spent func(total dpnoise.Budget)
}

var _ Recorder = StoredRecorder{}

// Record implements Recorder.
func (r StoredRecorder) Record(ctx context.Context, requester string, members []string, decide func(answered [][]string) (dpnoise.Budget, error)) error {
	return r.Store.RecordAggregateAnswer(ctx, r.Dataset, requester, members, func(sets [][]string, spends [][]byte) ([]byte, error) {
		cost, err := decide(sets)
		if err != nil {
			return nil, err
		}
		total, err := admitted(r.Limit, spends, cost)
		if err != nil {
			return nil, err
		}
		if r.Spent != nil {
			r.Spent(total)
		}
		return encodeBudget(cost)
	}, time.Now())
}
