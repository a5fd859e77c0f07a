// Package aggregate answers aggregate statistics (counts, sums, means, histograms) over a host's
// records with differential privacy: discrete Laplace or Gaussian noise (crypto/dpnoise), a
// minimum cohort size, a per-requester privacy-budget ledger, and a rule against singling out a
// member by differencing overlapping queries.
//
// # Rules, in the order they are checked
//
//  1. The query set (the requester's member list intersected with the host's records, or all
//     records) must hold at least MinCohort members. Otherwise ErrCohortTooSmall.
//  2. Differencing: for every query set answered before on this dataset, for ANY requester (so
//     that colluding requesters gain nothing), either the new set is the same set, or the two
//     differ in at least MinCohort members (|Q Δ P| ≥ MinCohort). Otherwise ErrDifferencing.
//     This blocks the cheap exact attack (sum over S, then over S minus one member) and its
//     near variants; it does not stop every combination of many queries (trackers), which is
//     why every answer is also noised and charged: the privacy budget is the guarantee, the
//     overlap rule removes the attacks that would spend it most efficiently. The same set may be
//     asked again; each answer is charged anew, so averaging noise runs into the budget.
//  3. Budget: the release's cost (ε, or ε and δ for Gaussian noise) is charged to the
//     requester's Ledger before anything is computed; a release that would exceed the limit is
//     refused (ErrBudgetExceeded) and charges nothing.
//
// Sensitivities (add/remove one member): a count 1; a sum of values clamped to [Lo, Hi] and
// scaled to integers by Scale max(|Lo|,|Hi|)·Scale; a mean is a noisy sum over a noisy count,
// each with half the ε; a histogram's counts change in one bin only, so the whole histogram
// costs ε once (parallel composition).
//
// What the requester learns: the noisy value, and whether the query passed rules 1–3 (a refusal
// by rule 1 reveals whether fewer than MinCohort of the ids it named are records of this host).
// The package never logs.
package aggregate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sync"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/node/joint"
)

// Errors returned by Answer.
var (
	ErrCohortTooSmall = errors.New("aggregate: query set below the minimum cohort size")
	ErrDifferencing   = errors.New("aggregate: query set overlaps an earlier one too closely")
	ErrBudgetExceeded = dpnoise.ErrBudgetExceeded
	ErrQuery          = errors.New("aggregate: malformed query")
)

// Kind of statistic.
type Kind string

// Kinds.
const (
	Count     Kind = "count"
	Sum       Kind = "sum"
	Mean      Kind = "mean"
	Histogram Kind = "histogram"
)

// Query is one aggregate request.
type Query struct {
	Requester string
	Kind      Kind
	Feature   string   // not for Count
	Members   []string // the query set by identifier; empty means every record
	Lo, Hi    float64  // clamp bounds for Sum and Mean
	Scale     int64    // Sum and Mean: values are multiplied by Scale and rounded (default 1)
	Edges     []float64
	Epsilon   *big.Rat
	Delta     *big.Rat // if set, discrete Gaussian noise for (ε, δ)-DP instead of Laplace
}

// Result is a noisy answer.
type Result struct {
	Value float64 // Count, Sum, Mean
	Bins  []int64 // Histogram: len(Edges)+1 noisy counts
}

// Ledger is the per-requester privacy budget.
type Ledger interface {
	// Spend charges cost to requester if it fits in what remains of its budget; otherwise it
	// returns ErrBudgetExceeded and charges nothing.
	Spend(ctx context.Context, requester string, cost dpnoise.Budget) error
}

// MemoryLedger is a Ledger held in memory, one dpnoise.Accountant per requester.
type MemoryLedger struct {
	limit dpnoise.Budget
	mu    sync.Mutex
	accts map[string]*dpnoise.Accountant
}

var _ Ledger = (*MemoryLedger)(nil)

// NewMemoryLedger gives every requester the budget limit.
func NewMemoryLedger(limit dpnoise.Budget) *MemoryLedger {
	return &MemoryLedger{limit: limit, accts: map[string]*dpnoise.Accountant{}}
}

// Spend implements Ledger.
func (l *MemoryLedger) Spend(_ context.Context, requester string, cost dpnoise.Budget) error {
	l.mu.Lock()
	a := l.accts[requester]
	if a == nil {
		var err error
		if a, err = dpnoise.NewAccountant(l.limit); err != nil {
			l.mu.Unlock()
			return err
		}
		l.accts[requester] = a
	}
	l.mu.Unlock()
	return a.Spend(cost)
}

// Recorder keeps the answered query sets of one dataset (rule 2) together with every
// requester's budget (rule 3), and applies both in one atomic step.
type Recorder interface {
	// Record calls decide with the query sets answered on the dataset, by any requester. If
	// decide returns the release's cost, Record charges it to requester (ErrBudgetExceeded, and
	// nothing recorded, if it does not fit) and records members as answered. decide's error is
	// returned unchanged and nothing is recorded. No other Record on the dataset or requester
	// may come between the sets decide sees and what Record records.
	Record(ctx context.Context, requester string, members []string, decide func(answered [][]string) (dpnoise.Budget, error)) error
}

// Options configure an Engine.
type Options struct {
	MinCohort int // default joint.DefaultMinCohort
	// Recorder, if set, keeps the query sets and the budgets instead of Ledger and History, and
	// checks and records each answer in one atomic step (StoredRecorder: one store transaction),
	// so that rules 2 and 3 hold across engines and processes sharing it.
	Recorder Recorder
	// Ledger is required without a Recorder.
	Ledger Ledger
	// History, if set, keeps the answered query sets (rule 2) instead of the engine's memory,
	// so that they outlive a restart (StoredHistory). Without a Recorder the engine serialises
	// its own answers only: engines sharing a History must be serialised by their caller.
	History History
}

// Engine answers aggregate queries over one dataset. It is safe for concurrent use.
type Engine struct {
	data  *joint.Dataset
	opts  Options
	index map[string]int

	mu      sync.Mutex
	history [][]int // answered query sets, sorted rows
}

// New returns an engine over data.
func New(data *joint.Dataset, opts Options) (*Engine, error) {
	if err := data.Validate(); err != nil {
		return nil, err
	}
	switch {
	case opts.Recorder != nil && (opts.Ledger != nil || opts.History != nil):
		return nil, errors.New("aggregate: a Recorder replaces Ledger and History")
	case opts.Recorder == nil && opts.Ledger == nil:
		return nil, errors.New("aggregate: a Ledger is required")
	}
	if opts.MinCohort <= 0 {
		opts.MinCohort = joint.DefaultMinCohort
	}
	idx := make(map[string]int, len(data.IDs))
	for i, id := range data.IDs {
		idx[id] = i
	}
	return &Engine{data: data, opts: opts, index: idx}, nil
}

// Answer checks q against the rules of the package doc and returns a noisy answer.
func (e *Engine) Answer(ctx context.Context, q Query) (*Result, error) {
	col, err := e.validate(&q)
	if err != nil {
		return nil, err
	}
	rows := e.querySet(q.Members)
	if len(rows) < e.opts.MinCohort {
		return nil, ErrCohortTooSmall
	}
	var mech *plan
	err = e.record(ctx, q.Requester, rows, func(answered [][]int) (dpnoise.Budget, error) {
		for _, p := range answered {
			if d := symDiff(rows, p); d != 0 && d < e.opts.MinCohort {
				return dpnoise.Budget{}, ErrDifferencing
			}
		}
		var err error
		if mech, err = e.mechanism(q); err != nil {
			return dpnoise.Budget{}, err
		}
		return mech.total, nil
	})
	if err != nil {
		return nil, err // nothing released: a set is answered only once it is recorded
	}
	return e.compute(q, col, rows, mech) // on error the budget stays spent: noise may have been drawn
}

func (e *Engine) validate(q *Query) (int, error) {
	if q.Requester == "" || q.Epsilon == nil || q.Epsilon.Sign() <= 0 {
		return 0, fmt.Errorf("%w: requester and a positive epsilon are required", ErrQuery)
	}
	if q.Scale == 0 {
		q.Scale = 1
	}
	col := -1
	if q.Kind != Count {
		col = slices.Index(e.data.Features, q.Feature)
		if col < 0 {
			return 0, fmt.Errorf("%w: no such feature", ErrQuery)
		}
	}
	switch q.Kind {
	case Count:
	case Sum, Mean:
		if !(q.Lo <= q.Hi) || q.Scale < 1 || q.Scale > 1<<20 || math.Abs(q.Lo)*float64(q.Scale) > 1<<40 || math.Abs(q.Hi)*float64(q.Scale) > 1<<40 {
			return 0, fmt.Errorf("%w: clamp bounds", ErrQuery)
		}
	case Histogram:
		if len(q.Edges) == 0 || len(q.Edges) > 256 || !slices.IsSorted(q.Edges) {
			return 0, fmt.Errorf("%w: histogram edges", ErrQuery)
		}
	default:
		return 0, fmt.Errorf("%w: unknown kind", ErrQuery)
	}
	return col, nil
}

// querySet returns the sorted distinct rows named by ids (all rows if none).
func (e *Engine) querySet(ids []string) []int {
	if len(ids) == 0 {
		rows := make([]int, len(e.data.IDs))
		for i := range rows {
			rows[i] = i
		}
		return rows
	}
	var rows []int
	for _, id := range ids {
		if r, ok := e.index[id]; ok {
			rows = append(rows, r)
		}
	}
	slices.Sort(rows)
	return slices.Compact(rows)
}

// symDiff is |a Δ b| for sorted sets.
func symDiff(a, b []int) int {
	i, j, d := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case a[i] < b[j]:
			i++
			d++
		default:
			j++
			d++
		}
	}
	return d + len(a) - i + len(b) - j
}

type plan struct {
	parts []dpnoise.Mechanism // one per released integer (histograms: the same one per bin)
	total dpnoise.Budget      // what the release costs in all
}

func (e *Engine) mechanism(q Query) (*plan, error) {
	mk := func(sens int64, eps *big.Rat) (dpnoise.Mechanism, error) {
		if q.Delta != nil {
			return dpnoise.NewGaussian(sens, eps, q.Delta)
		}
		return dpnoise.NewLaplace(sens, eps)
	}
	sumSens := func() (int64, error) {
		return dpnoise.BoundedSumSensitivity(scaled(q.Lo, q.Scale), scaled(q.Hi, q.Scale))
	}
	var p plan
	switch q.Kind {
	case Count, Histogram:
		m, err := mk(dpnoise.CountSensitivity, q.Epsilon)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuery, err)
		}
		p.parts, p.total = []dpnoise.Mechanism{m}, m.Cost()
	case Sum:
		s, err := sumSens()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuery, err)
		}
		m, err := mk(max(s, 1), q.Epsilon)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuery, err)
		}
		p.parts, p.total = []dpnoise.Mechanism{m}, m.Cost()
	case Mean:
		half := new(big.Rat).Quo(q.Epsilon, big.NewRat(2, 1))
		s, err := sumSens()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuery, err)
		}
		ms, err := mk(max(s, 1), half)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuery, err)
		}
		mc, err := mk(dpnoise.CountSensitivity, half)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuery, err)
		}
		p.parts = []dpnoise.Mechanism{ms, mc}
		p.total = addBudget(ms.Cost(), mc.Cost())
	}
	return &p, nil
}

func addBudget(a, b dpnoise.Budget) dpnoise.Budget {
	add := func(x, y *big.Rat) *big.Rat {
		r := new(big.Rat)
		if x != nil {
			r.Add(r, x)
		}
		if y != nil {
			r.Add(r, y)
		}
		return r
	}
	return dpnoise.Budget{Epsilon: add(a.Epsilon, b.Epsilon), Delta: add(a.Delta, b.Delta), Rho: add(a.Rho, b.Rho)}
}

func scaled(x float64, s int64) int64 { return int64(math.Round(x * float64(s))) }

// release draws noise for value; the requester's ledger has already been charged for the whole
// release, so each draw goes through a scratch accountant holding exactly its cost.
func release(m dpnoise.Mechanism, value int64) (int64, error) {
	acct, err := dpnoise.NewAccountant(m.Cost())
	if err != nil {
		return 0, err
	}
	return m.Release(acct, value)
}

func (e *Engine) compute(q Query, col int, rows []int, p *plan) (*Result, error) {
	switch q.Kind {
	case Count:
		v, err := release(p.parts[0], int64(len(rows)))
		return &Result{Value: float64(v)}, err
	case Sum, Mean:
		vals := make([]int64, len(rows))
		for k, r := range rows {
			vals[k] = scaled(e.data.X[r][col], q.Scale)
		}
		sum, err := dpnoise.ClampedSum(vals, scaled(q.Lo, q.Scale), scaled(q.Hi, q.Scale))
		if err != nil {
			return nil, err
		}
		ns, err := release(p.parts[0], sum)
		if err != nil {
			return nil, err
		}
		if q.Kind == Sum {
			return &Result{Value: float64(ns) / float64(q.Scale)}, nil
		}
		nc, err := release(p.parts[1], int64(len(rows)))
		if err != nil {
			return nil, err
		}
		mean := float64(ns) / float64(q.Scale) / float64(max(nc, 1))
		return &Result{Value: math.Min(math.Max(mean, q.Lo), q.Hi)}, nil
	default: // Histogram
		counts := make([]int64, len(q.Edges)+1)
		for _, r := range rows {
			b, _ := slices.BinarySearch(q.Edges, e.data.X[r][col])
			counts[b]++
		}
		for b := range counts {
			v, err := release(p.parts[0], counts[b])
			if err != nil {
				return nil, err
			}
			counts[b] = v
		}
		return &Result{Bins: counts}, nil
	}
}
