package dpnoise

import (
	"math"
	"math/big"
)

// CountSensitivity is the sensitivity of a count when one individual is
// added or removed.
const CountSensitivity = 1

// BoundedSumSensitivity is the sensitivity of the sum of values clamped to
// [lo, hi] when one individual is added or removed: max(|lo|, |hi|).
func BoundedSumSensitivity(lo, hi int64) (int64, error) {
	if lo > hi || lo == math.MinInt64 {
		return 0, ErrParameter
	}
	return max(abs64(lo), abs64(hi), 1), nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// ClampedSum returns Σ clamp(v, lo, hi), or ErrOverflow.
func ClampedSum(values []int64, lo, hi int64) (int64, error) {
	if lo > hi {
		return 0, ErrParameter
	}
	sum := new(big.Int)
	for _, v := range values {
		sum.Add(sum, big.NewInt(min(max(v, lo), hi)))
	}
	if !sum.IsInt64() {
		return 0, ErrOverflow
	}
	return sum.Int64(), nil
}

// Mechanism adds noise to an integer query of known sensitivity.
type Mechanism interface {
	// Cost is the privacy cost of one release.
	Cost() Budget
	// Release charges acct with Cost and, if that is within budget, returns
	// value plus fresh noise. The budget stays spent even if sampling fails.
	Release(acct *Accountant, value int64) (int64, error)
}

var (
	_ Mechanism = (*Laplace)(nil)
	_ Mechanism = (*Gaussian)(nil)
)

// Laplace is the discrete Laplace (geometric) mechanism: ε-DP for a query of
// sensitivity Δ with noise of scale Δ/ε.
type Laplace struct {
	epsilon *big.Rat
	scale   *big.Rat
}

// NewLaplace returns the mechanism for sensitivity ≥ 1 and rational ε > 0.
func NewLaplace(sensitivity int64, epsilon *big.Rat) (*Laplace, error) {
	if sensitivity < 1 || checkRat(epsilon) != nil {
		return nil, ErrParameter
	}
	scale := new(big.Rat).Quo(new(big.Rat).SetInt64(sensitivity), epsilon)
	if checkRat(scale) != nil {
		return nil, ErrParameter
	}
	return &Laplace{epsilon: new(big.Rat).Set(epsilon), scale: scale}, nil
}

// Scale returns Δ/ε.
func (m *Laplace) Scale() *big.Rat { return new(big.Rat).Set(m.scale) }

// Cost returns {Epsilon: ε}.
func (m *Laplace) Cost() Budget { return Budget{Epsilon: new(big.Rat).Set(m.epsilon)} }

// Release implements Mechanism.
func (m *Laplace) Release(acct *Accountant, value int64) (int64, error) {
	return release(acct, m.Cost(), value, func() (*big.Int, error) { return DiscreteLaplace(m.scale) })
}

// Gaussian is the discrete Gaussian mechanism.
type Gaussian struct {
	sigma2 *big.Rat
	cost   Budget
}

// NewGaussianZCDP returns the mechanism that is ρ-zCDP for the given
// sensitivity: σ² = Δ²/(2ρ).
func NewGaussianZCDP(sensitivity int64, rho *big.Rat) (*Gaussian, error) {
	if sensitivity < 1 || checkRat(rho) != nil {
		return nil, ErrParameter
	}
	d := new(big.Rat).SetInt64(sensitivity)
	s2 := new(big.Rat).Mul(d, d)
	s2.Quo(s2, new(big.Rat).Add(rho, rho))
	if checkRat(s2) != nil {
		return nil, ErrParameter
	}
	return &Gaussian{sigma2: s2, cost: Budget{Rho: new(big.Rat).Set(rho)}}, nil
}

// NewGaussian returns a mechanism that is (ε, δ)-DP for the given
// sensitivity, via ρ-zCDP with ρ = (sqrt(ln(1/δ) + ε) - sqrt(ln(1/δ)))²,
// rounded down. 0 < δ < 1.
func NewGaussian(sensitivity int64, epsilon, delta *big.Rat) (*Gaussian, error) {
	if checkRat(epsilon) != nil || checkRat(delta) != nil || delta.Cmp(ratOne) >= 0 {
		return nil, ErrParameter
	}
	eps, _ := epsilon.Float64()
	del, _ := delta.Float64()
	if del <= 0 || eps <= 0 || math.IsInf(eps, 0) {
		return nil, ErrParameter
	}
	l := -math.Log(del)
	rhoF := math.Pow(math.Sqrt(l+eps)-math.Sqrt(l), 2) * (1 - 1e-9) // round down: more noise
	if !(rhoF > 0) {
		return nil, ErrParameter
	}
	rho := new(big.Rat)
	if rho.SetFloat64(rhoF) == nil {
		return nil, ErrParameter
	}
	m, err := NewGaussianZCDP(sensitivity, rho)
	if err != nil {
		return nil, err
	}
	m.cost = Budget{Epsilon: new(big.Rat).Set(epsilon), Delta: new(big.Rat).Set(delta)}
	return m, nil
}

// Sigma2 returns the variance parameter σ².
func (m *Gaussian) Sigma2() *big.Rat { return new(big.Rat).Set(m.sigma2) }

// Cost returns {Rho: ρ} or {Epsilon: ε, Delta: δ}, as constructed.
func (m *Gaussian) Cost() Budget { return m.cost.clone() }

// Release implements Mechanism.
func (m *Gaussian) Release(acct *Accountant, value int64) (int64, error) {
	return release(acct, m.Cost(), value, func() (*big.Int, error) { return DiscreteGaussian(m.sigma2) })
}

func release(acct *Accountant, cost Budget, value int64, noise func() (*big.Int, error)) (int64, error) {
	if acct == nil {
		return 0, ErrNoAccountant
	}
	if err := acct.Spend(cost); err != nil {
		return 0, err
	}
	z, err := noise()
	if err != nil {
		return 0, err
	}
	z.Add(z, big.NewInt(value))
	if !z.IsInt64() {
		return 0, ErrOverflow
	}
	return z.Int64(), nil
}
