package dpnoise

import (
	"math/big"
	"sync"
)

// Budget is an amount of privacy loss: pure ε, the δ of (ε, δ)-DP, and ρ of
// zero-concentrated DP. A nil field means zero.
type Budget struct {
	Epsilon *big.Rat
	Delta   *big.Rat
	Rho     *big.Rat
}

func (b Budget) clone() Budget {
	c := func(r *big.Rat) *big.Rat {
		if r == nil {
			return new(big.Rat)
		}
		return new(big.Rat).Set(r)
	}
	return Budget{Epsilon: c(b.Epsilon), Delta: c(b.Delta), Rho: c(b.Rho)}
}

func (b Budget) fields() [3]*big.Rat { return [3]*big.Rat{b.Epsilon, b.Delta, b.Rho} }

// validate: every field absent or a non-negative rational of bounded size; δ < 1.
func (b Budget) validate() error {
	for _, r := range b.fields() {
		if r != nil && (r.Sign() < 0 || r.Num().BitLen() > maxParamBits || r.Denom().BitLen() > maxParamBits) {
			return ErrParameter
		}
	}
	if b.Delta != nil && b.Delta.Cmp(ratOne) >= 0 {
		return ErrParameter
	}
	return nil
}

// Accountant tracks the privacy budget of one dataset under sequential
// composition: the ε, δ and ρ of every release add up, each against its own
// limit. A release that would exceed any limit is refused and charges
// nothing. An Accountant is safe for concurrent use.
type Accountant struct {
	mu    sync.Mutex
	limit Budget
	spent Budget
}

// NewAccountant returns an accountant with the given total budget.
func NewAccountant(limit Budget) (*Accountant, error) {
	if err := limit.validate(); err != nil {
		return nil, err
	}
	return &Accountant{limit: limit.clone(), spent: Budget{}.clone()}, nil
}

// Spend charges cost if it fits in what remains, else returns
// ErrBudgetExceeded and charges nothing.
func (a *Accountant) Spend(cost Budget) error {
	if err := cost.validate(); err != nil {
		return err
	}
	c := cost.clone()
	a.mu.Lock()
	defer a.mu.Unlock()
	next := a.spent.clone()
	nf, lf, cf := next.fields(), a.limit.fields(), c.fields()
	for i := range nf {
		nf[i].Add(nf[i], cf[i])
		if nf[i].Cmp(lf[i]) > 0 {
			return ErrBudgetExceeded
		}
	}
	a.spent = next
	return nil
}

// Spent returns what has been charged so far.
func (a *Accountant) Spent() Budget {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.spent.clone()
}

// Remaining returns the limit minus what has been spent.
func (a *Accountant) Remaining() Budget {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.limit.clone()
	rf, sf := r.fields(), a.spent.fields()
	for i := range rf {
		rf[i].Sub(rf[i], sf[i])
	}
	return r
}

// Limit returns the total budget.
func (a *Accountant) Limit() Budget {
	return a.limit.clone()
}
