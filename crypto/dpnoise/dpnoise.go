// Package dpnoise draws differential-privacy noise from crypto/rand with
// exact rational arithmetic, following C. Canonne, G. Kamath and T. Steinke,
// "The Discrete Gaussian for Differential Privacy", NeurIPS 2020
// (https://arxiv.org/abs/2004.00010), section 5:
//
//   - Algorithm 1: Bernoulli(exp(-γ)) for rational γ ≥ 0, BernoulliExp;
//   - Algorithm 2: the discrete Laplace (two-sided geometric) distribution,
//     P[Z = z] ∝ exp(-|z|/scale) for rational scale > 0, DiscreteLaplace;
//   - Algorithm 3: the discrete Gaussian, P[Z = z] ∝ exp(-z²/(2σ²)) for
//     rational σ² > 0, DiscreteGaussian.
//
// Every step is exact: uniform integers from crypto/rand and comparisons of
// math/big rationals, so there is no floating-point sampling and none of the
// attacks on floating-point Laplace noise (I. Mironov, "On Significance of
// the Least Significant Bits for Differential Privacy", CCS 2012) apply.
//
// On top of the samplers, mechanisms for integer queries (counts, clamped
// sums) with a given sensitivity Δ:
//
//   - Laplace: discrete Laplace noise of scale Δ/ε gives ε-DP (the geometric
//     mechanism of Ghosh, Roughgarden and Sundararajan, STOC 2009);
//   - Gaussian: discrete Gaussian noise of variance parameter σ² = Δ²/(2ρ)
//     gives ρ-zCDP (Canonne–Kamath–Steinke, Theorem 4); for an (ε, δ) target
//     ρ is taken so that ρ + 2·sqrt(ρ·ln(1/δ)) ≤ ε (Bun and Steinke, TCC 2016,
//     Proposition 1.3), computed in float64 and rounded down, which only
//     adds noise.
//
// An Accountant holds a privacy budget and refuses any release that would
// exceed it (sequential composition: ε, δ and ρ each add up; ρ converts to
// (ρ + 2·sqrt(ρ·ln(1/δ')), δ') for any δ' > 0 when a single (ε, δ)
// statement is needed).
//
// Timing: the number of loop iterations of the samplers depends on the
// sample drawn, so their running time leaks something about the noise (CKS20,
// section 5.2). Releases here are made once and sent, not answered
// interactively with fine timing visible to the recipient; a caller for whom
// that matters should pad the time of each release.
//
// Nothing in this package logs, and there is no package-level state.
package dpnoise

import (
	"crypto/rand"
	"errors"
	"math/big"
)

// Errors returned by this package.
var (
	// ErrParameter: a parameter is out of range (not positive, δ ≥ 1, too large).
	ErrParameter = errors.New("dpnoise: parameter out of range")
	// ErrBudgetExceeded: the release would take the accountant over its budget.
	ErrBudgetExceeded = errors.New("dpnoise: privacy budget exceeded")
	// ErrOverflow: value plus noise does not fit in an int64.
	ErrOverflow = errors.New("dpnoise: noisy value overflows int64")
	// ErrNoAccountant: a release was asked for without an accountant.
	ErrNoAccountant = errors.New("dpnoise: no accountant")
)

// maxParamBits bounds the numerator and denominator of any rational
// parameter, so that a hostile configuration cannot make sampling slow.
const maxParamBits = 256

var (
	ratZero = new(big.Rat)
	ratOne  = big.NewRat(1, 1)
)

func checkRat(r *big.Rat) error {
	if r == nil || r.Sign() <= 0 || r.Num().BitLen() > maxParamBits || r.Denom().BitLen() > maxParamBits {
		return ErrParameter
	}
	return nil
}

// uniform returns a uniform integer in [0, n).
func uniform(n *big.Int) (*big.Int, error) {
	return rand.Int(rand.Reader, n)
}

// bernoulli returns true with probability p = num/den ∈ [0, 1].
func bernoulli(p *big.Rat) (bool, error) {
	u, err := uniform(p.Denom())
	if err != nil {
		return false, err
	}
	return u.Cmp(p.Num()) < 0, nil
}

// BernoulliExp returns true with probability exp(-γ), for rational γ ≥ 0
// (CKS20, Algorithm 1).
func BernoulliExp(gamma *big.Rat) (bool, error) {
	if gamma == nil || gamma.Sign() < 0 {
		return false, ErrParameter
	}
	if gamma.Cmp(ratOne) <= 0 {
		return bernoulliExpSmall(gamma)
	}
	// exp(-γ) = exp(-1)^floor(γ) · exp(-(γ - floor(γ))).
	fl := new(big.Int).Quo(gamma.Num(), gamma.Denom())
	for k := new(big.Int); k.Cmp(fl) < 0; k.Add(k, big.NewInt(1)) {
		b, err := bernoulliExpSmall(ratOne)
		if err != nil || !b {
			return false, err
		}
	}
	frac := new(big.Rat).Sub(gamma, new(big.Rat).SetInt(fl))
	return bernoulliExpSmall(frac)
}

// bernoulliExpSmall is Algorithm 1 for γ ∈ [0, 1]: draw A_k ~ Bernoulli(γ/k)
// for k = 1, 2, … until the first A_k = 0; return whether that k is odd.
func bernoulliExpSmall(gamma *big.Rat) (bool, error) {
	k := int64(1)
	p := new(big.Rat)
	for {
		p.SetFrac(gamma.Num(), new(big.Int).Mul(gamma.Denom(), big.NewInt(k)))
		a, err := bernoulli(p)
		if err != nil {
			return false, err
		}
		if !a {
			return k%2 == 1, nil
		}
		k++
	}
}

// DiscreteLaplace returns a sample Z with P[Z = z] ∝ exp(-|z|/scale)
// (CKS20, Algorithm 2, with scale = t/s).
func DiscreteLaplace(scale *big.Rat) (*big.Int, error) {
	if err := checkRat(scale); err != nil {
		return nil, err
	}
	return discreteLaplace(scale.Num(), scale.Denom())
}

// discreteLaplace is Algorithm 2 for scale t/s.
func discreteLaplace(t, s *big.Int) (*big.Int, error) {
	uOverT := new(big.Rat)
	for {
		u, err := uniform(t)
		if err != nil {
			return nil, err
		}
		d, err := BernoulliExp(uOverT.SetFrac(u, t))
		if err != nil {
			return nil, err
		}
		if !d {
			continue
		}
		v := new(big.Int)
		for {
			a, err := bernoulliExpSmall(ratOne)
			if err != nil {
				return nil, err
			}
			if !a {
				break
			}
			v.Add(v, big.NewInt(1))
		}
		x := v.Mul(v, t)
		x.Add(x, u) // X = U + t·V ~ Geometric(1 - exp(-1/t))
		y := x.Quo(x, s)
		b, err := bernoulli(big.NewRat(1, 2))
		if err != nil {
			return nil, err
		}
		if b && y.Sign() == 0 {
			continue
		}
		if b {
			y.Neg(y)
		}
		return y, nil
	}
}

// DiscreteGaussian returns a sample Z with P[Z = z] ∝ exp(-z²/(2σ²)) for
// rational sigma2 = σ² > 0 (CKS20, Algorithm 3). Its variance is at most σ².
func DiscreteGaussian(sigma2 *big.Rat) (*big.Int, error) {
	if err := checkRat(sigma2); err != nil {
		return nil, err
	}
	// t = floor(σ) + 1, with floor(sqrt(x)) = isqrt(floor(x)) for rational x ≥ 0.
	t := new(big.Int).Quo(sigma2.Num(), sigma2.Denom())
	t.Sqrt(t)
	t.Add(t, big.NewInt(1))
	s2OverT := new(big.Rat).Quo(sigma2, new(big.Rat).SetInt(t))
	twoS2 := new(big.Rat).Add(sigma2, sigma2)
	gamma := new(big.Rat)
	for {
		y, err := discreteLaplace(t, big.NewInt(1))
		if err != nil {
			return nil, err
		}
		// γ = (|Y| - σ²/t)² / (2σ²)
		gamma.SetInt(new(big.Int).Abs(y))
		gamma.Sub(gamma, s2OverT)
		gamma.Mul(gamma, gamma)
		gamma.Quo(gamma, twoS2)
		c, err := BernoulliExp(gamma)
		if err != nil {
			return nil, err
		}
		if c {
			return y, nil
		}
	}
}
