package policy

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkDecide evaluates the prepared query for a realistic allowed
// request with three categories.
func BenchmarkDecide(b *testing.B) {
	e := newEngine(b)
	ctx := context.Background()
	in := loanInput()
	b.ReportAllocs()
	for b.Loop() {
		r, err := e.Decide(ctx, in)
		if err != nil || !r.Allow {
			b.Fatalf("%+v, %v", r, err)
		}
	}
}

// BenchmarkDecideLatency reports p50 and p99 latency over 20,000 decisions
// per run, half allowed and half denied.
func BenchmarkDecideLatency(b *testing.B) {
	const n = 20_000
	e := newEngine(b)
	ctx := context.Background()
	allow, deny := loanInput(), loanInput()
	deny.Consent.Categories = []string{"tax_payment"}
	lat := make([]time.Duration, n)
	for b.Loop() {
		for i := range n {
			in := allow
			if i%2 == 1 {
				in = deny
			}
			t0 := time.Now()
			if _, err := e.Decide(ctx, in); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(t0)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[n*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[n-1].Microseconds()), "max-µs")
}
