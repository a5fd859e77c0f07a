package policy

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDecide evaluates the prepared query for a realistic allowed
// request with three categories: what Decide costs a request, from the
// typed input to the decoded Result with reasons, fields and obligations.
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

// BenchmarkDecideLatency reports p50 and p99 wall-clock latency over 20,000
// decisions per run, half allowed and half denied, and the process CPU time
// per decision (less sensitive than wall time to a shared, loaded machine).
func BenchmarkDecideLatency(b *testing.B) {
	const n = 20_000
	e := newEngine(b)
	ctx := context.Background()
	allow, deny := loanInput(), loanInput()
	deny.Consent.Categories = []string{"tax_payment"}
	checkBenchInputs(b, e, allow, deny)
	lat := make([]time.Duration, n)
	cpu0 := cpuTime(b)
	runs := 0
	for b.Loop() {
		runs++
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
	cpu := cpuTime(b) - cpu0
	slices.Sort(lat)
	b.ReportMetric(float64(cpu.Microseconds())/float64(runs*n), "cpu-µs/decision")
	b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[n*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[n-1].Microseconds()), "max-µs")
}

// checkBenchInputs makes sure the latency benchmark measures full decisions:
// an allow with fields and obligations and a deny with its code.
func checkBenchInputs(b *testing.B, e *Engine, allow, deny Input) {
	b.Helper()
	ctx := context.Background()
	r, err := e.Decide(ctx, allow)
	if err != nil || !r.Allow || len(r.Fields) != 3 || r.Obligations["consume_consent"] != "consent-1" || len(r.Reasons) == 0 {
		b.Fatalf("allow input: %+v, %v", r, err)
	}
	r, err = e.Decide(ctx, deny)
	if err != nil || r.Allow || r.Code != "consent_wrong_category" {
		b.Fatalf("deny input: %+v, %v", r, err)
	}
}

// cpuTime is the user and system CPU time of the whole process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
