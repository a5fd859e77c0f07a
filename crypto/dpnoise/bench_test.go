package dpnoise

import (
	"math/big"
	"testing"
)

func benchSampler(b *testing.B, f func() (*big.Int, error)) {
	for b.Loop() {
		if _, err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkDiscreteLaplaceScale2(b *testing.B) {
	s := big.NewRat(2, 1)
	benchSampler(b, func() (*big.Int, error) { return DiscreteLaplace(s) })
}

func BenchmarkDiscreteLaplaceScale1000(b *testing.B) {
	s := big.NewRat(1000, 1)
	benchSampler(b, func() (*big.Int, error) { return DiscreteLaplace(s) })
}

func BenchmarkDiscreteGaussianSigma2_100(b *testing.B) {
	s := big.NewRat(100, 1)
	benchSampler(b, func() (*big.Int, error) { return DiscreteGaussian(s) })
}

func BenchmarkDiscreteGaussianSigma2_1e6(b *testing.B) {
	s := big.NewRat(1000000, 1)
	benchSampler(b, func() (*big.Int, error) { return DiscreteGaussian(s) })
}
