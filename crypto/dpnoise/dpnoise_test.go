package dpnoise

import (
	"errors"
	"math"
	"math/big"
	"sync"
	"testing"
	"testing/cryptotest"
)

// Statistical tests: fixed seeds (cryptotest.SetGlobalRandom makes
// crypto/rand deterministic for the test), N samples, and tolerances of
// about 5 standard errors, so a correct sampler fails with probability
// below 1e-6 per check and a wrong one (bias, wrong scale, asymmetry) fails.

const nSamples = 20000

type moments struct{ mean, variance, pos, neg, zero float64 }

func sample(t *testing.T, f func() (*big.Int, error)) moments {
	t.Helper()
	var sum, sumSq float64
	var m moments
	for range nSamples {
		z, err := f()
		if err != nil {
			t.Fatal(err)
		}
		x := float64(z.Int64())
		sum += x
		sumSq += x * x
		switch z.Sign() {
		case 1:
			m.pos++
		case -1:
			m.neg++
		default:
			m.zero++
		}
	}
	m.mean = sum / nSamples
	m.variance = sumSq/nSamples - m.mean*m.mean
	return m
}

// checkMoments compares with the exact variance v and P[Z = 0] = p0.
func checkMoments(t *testing.T, m moments, v, p0 float64) {
	t.Helper()
	if se := math.Sqrt(v / nSamples); math.Abs(m.mean) > 5*se {
		t.Errorf("mean %.4f, want 0 ± %.4f", m.mean, 5*se)
	}
	// The relative standard error of a sample variance is at most about
	// sqrt((kurtosis-1)/N) ≤ sqrt(8/N) = 2% here; allow 10%.
	if math.Abs(m.variance/v-1) > 0.10 {
		t.Errorf("variance %.4f, want %.4f ± 10%%", m.variance, v)
	}
	// Symmetry: P[Z > 0] = P[Z < 0]; the difference of counts has sd ≤ sqrt(N).
	if d := math.Abs(m.pos - m.neg); d > 5*math.Sqrt(nSamples) {
		t.Errorf("asymmetric: %v positive, %v negative", m.pos, m.neg)
	}
	if se := math.Sqrt(p0 * (1 - p0) / nSamples); math.Abs(m.zero/nSamples-p0) > 5*se {
		t.Errorf("P[0] = %.4f, want %.4f ± %.4f", m.zero/nSamples, p0, 5*se)
	}
}

func TestBernoulliExp(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 1)
	for _, g := range []*big.Rat{big.NewRat(0, 1), big.NewRat(1, 3), big.NewRat(1, 1), big.NewRat(5, 2), big.NewRat(7, 1)} {
		n := 0
		for range nSamples {
			b, err := BernoulliExp(g)
			if err != nil {
				t.Fatal(err)
			}
			if b {
				n++
			}
		}
		gf, _ := g.Float64()
		p := math.Exp(-gf)
		se := math.Sqrt(p * (1 - p) / nSamples)
		if got := float64(n) / nSamples; math.Abs(got-p) > 5*se+1e-12 {
			t.Errorf("γ=%v: rate %.4f, want %.4f ± %.4f", g, got, p, 5*se)
		}
	}
	if _, err := BernoulliExp(big.NewRat(-1, 2)); !errors.Is(err, ErrParameter) {
		t.Fatal(err)
	}
}

func TestDiscreteLaplace(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 2)
	for _, scale := range []*big.Rat{big.NewRat(1, 1), big.NewRat(10, 3), big.NewRat(1, 2), big.NewRat(20, 1)} {
		t.Run(scale.String(), func(t *testing.T) {
			m := sample(t, func() (*big.Int, error) { return DiscreteLaplace(scale) })
			b, _ := scale.Float64()
			q := math.Exp(-1 / b)
			checkMoments(t, m, 2*q/((1-q)*(1-q)), (1-q)/(1+q))
		})
	}
}

// discreteGaussianExact returns the variance and P[0] of the discrete
// Gaussian by summing its mass function.
func discreteGaussianExact(s2 float64) (variance, p0 float64) {
	var z, v float64
	lim := int(20*math.Sqrt(s2)) + 20
	for x := -lim; x <= lim; x++ {
		w := math.Exp(-float64(x*x) / (2 * s2))
		z += w
		v += float64(x*x) * w
	}
	return v / z, 1 / z
}

func TestDiscreteGaussian(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 3)
	for _, s2 := range []*big.Rat{big.NewRat(1, 4), big.NewRat(1, 1), big.NewRat(9, 2), big.NewRat(400, 1)} {
		t.Run(s2.String(), func(t *testing.T) {
			m := sample(t, func() (*big.Int, error) { return DiscreteGaussian(s2) })
			f, _ := s2.Float64()
			v, p0 := discreteGaussianExact(f)
			if v > f*(1+1e-9) {
				t.Fatalf("exact variance %.4f exceeds σ² %.4f", v, f)
			}
			checkMoments(t, m, v, p0)
		})
	}
}

func TestParameterValidation(t *testing.T) {
	huge := new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 300))
	for name, r := range map[string]*big.Rat{"nil": nil, "zero": new(big.Rat), "negative": big.NewRat(-1, 2), "huge": huge} {
		if _, err := DiscreteLaplace(r); !errors.Is(err, ErrParameter) {
			t.Errorf("laplace %s: %v", name, err)
		}
		if _, err := DiscreteGaussian(r); !errors.Is(err, ErrParameter) {
			t.Errorf("gaussian %s: %v", name, err)
		}
		if _, err := NewLaplace(1, r); !errors.Is(err, ErrParameter) {
			t.Errorf("NewLaplace %s: %v", name, err)
		}
		if _, err := NewGaussianZCDP(1, r); !errors.Is(err, ErrParameter) {
			t.Errorf("NewGaussianZCDP %s: %v", name, err)
		}
		if _, err := NewGaussian(1, r, big.NewRat(1, 1000000)); !errors.Is(err, ErrParameter) {
			t.Errorf("NewGaussian ε %s: %v", name, err)
		}
	}
	for _, d := range []*big.Rat{big.NewRat(1, 1), big.NewRat(3, 2), new(big.Rat)} {
		if _, err := NewGaussian(1, big.NewRat(1, 1), d); !errors.Is(err, ErrParameter) {
			t.Errorf("δ=%v: %v", d, err)
		}
	}
	for _, s := range []int64{0, -1} {
		if _, err := NewLaplace(s, big.NewRat(1, 1)); !errors.Is(err, ErrParameter) {
			t.Errorf("sensitivity %d: %v", s, err)
		}
	}
	if _, err := BoundedSumSensitivity(5, 1); !errors.Is(err, ErrParameter) {
		t.Error("lo > hi")
	}
	if s, _ := BoundedSumSensitivity(-7, 3); s != 7 {
		t.Errorf("sensitivity %d", s)
	}
	if s, _ := ClampedSum([]int64{-100, 2, 100, 5}, -7, 3); s != -7+2+3+3 {
		t.Errorf("clamped sum %d", s)
	}
	if _, err := ClampedSum([]int64{math.MaxInt64, math.MaxInt64}, 0, math.MaxInt64); !errors.Is(err, ErrOverflow) {
		t.Error("overflow")
	}
	if _, err := NewAccountant(Budget{Epsilon: big.NewRat(-1, 1)}); !errors.Is(err, ErrParameter) {
		t.Error("negative budget")
	}
	if _, err := NewAccountant(Budget{Delta: big.NewRat(1, 1)}); !errors.Is(err, ErrParameter) {
		t.Error("δ = 1 budget")
	}
}

func TestGaussianCalibration(t *testing.T) {
	// ρ-zCDP: σ² = Δ²/(2ρ).
	m, err := NewGaussianZCDP(3, big.NewRat(1, 2))
	if err != nil || m.Sigma2().Cmp(big.NewRat(9, 1)) != 0 {
		t.Fatalf("σ² = %v, %v", m.Sigma2(), err)
	}
	// (ε, δ): the ρ used must satisfy ρ + 2·sqrt(ρ·ln(1/δ)) ≤ ε.
	eps, del := big.NewRat(1, 1), big.NewRat(1, 100000)
	g, err := NewGaussian(1, eps, del)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := g.Sigma2().Float64()
	rho := 1 / (2 * s2)
	if got := rho + 2*math.Sqrt(rho*math.Log(1e5)); got > 1 {
		t.Fatalf("ρ = %g gives ε = %g > 1", rho, got)
	}
	if c := g.Cost(); c.Epsilon.Cmp(eps) != 0 || c.Delta.Cmp(del) != 0 || c.Rho.Sign() != 0 {
		t.Fatalf("cost %v", c)
	}
	// Laplace scale Δ/ε.
	l, _ := NewLaplace(5, big.NewRat(1, 2))
	if l.Scale().Cmp(big.NewRat(10, 1)) != 0 {
		t.Fatal(l.Scale())
	}
}

func TestAccountant(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 4)
	acct, err := NewAccountant(Budget{Epsilon: big.NewRat(1, 1), Delta: big.NewRat(1, 1000000), Rho: big.NewRat(1, 10)})
	if err != nil {
		t.Fatal(err)
	}
	lap, _ := NewLaplace(CountSensitivity, big.NewRat(3, 10))
	for i := range 3 {
		if _, err := lap.Release(acct, 100); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	// 0.9 spent; another 0.3 would exceed 1.
	if _, err := lap.Release(acct, 100); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("fourth release: %v", err)
	}
	if r := acct.Remaining(); r.Epsilon.Cmp(big.NewRat(1, 10)) != 0 {
		t.Fatalf("remaining ε %v", r.Epsilon)
	}
	small, _ := NewLaplace(CountSensitivity, big.NewRat(1, 10))
	if _, err := small.Release(acct, 100); err != nil {
		t.Fatalf("exact fit refused: %v", err)
	}
	// zCDP is tracked separately.
	gz, _ := NewGaussianZCDP(1, big.NewRat(1, 20))
	for range 2 {
		if _, err := gz.Release(acct, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gz.Release(acct, 0); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatal(err)
	}
	// (ε, δ) Gaussian needs ε too, which is exhausted: refused, nothing charged.
	before := acct.Spent()
	ga, _ := NewGaussian(1, big.NewRat(1, 100), big.NewRat(1, 10000000))
	if _, err := ga.Release(acct, 0); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatal(err)
	}
	if after := acct.Spent(); after.Delta.Cmp(before.Delta) != 0 {
		t.Fatal("refused release charged δ")
	}
	if _, err := lap.Release(nil, 1); !errors.Is(err, ErrNoAccountant) {
		t.Fatal(err)
	}
	// Overflow of value + noise.
	big2, _ := NewAccountant(Budget{Epsilon: big.NewRat(1000, 1)})
	wide, _ := NewLaplace(1, big.NewRat(1, 1000000))
	overflowed := false
	for range 50 {
		if _, err := wide.Release(big2, math.MaxInt64); errors.Is(err, ErrOverflow) {
			overflowed = true
			break
		}
	}
	if !overflowed {
		t.Fatal("no overflow detected near MaxInt64")
	}
}

// TestAccountantConcurrent: concurrent spenders never exceed the budget.
func TestAccountantConcurrent(t *testing.T) {
	acct, _ := NewAccountant(Budget{Epsilon: big.NewRat(10, 1)})
	var ok int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if acct.Spend(Budget{Epsilon: big.NewRat(1, 10)}) == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if ok != 100 || acct.Remaining().Epsilon.Sign() != 0 {
		t.Fatalf("%d spends succeeded, remaining %v", ok, acct.Remaining().Epsilon)
	}
}
