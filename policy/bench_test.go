package policy

import (
	"context"
	"crypto/sha256"
	"runtime/debug"
	"slices"
	"syscall"
	"testing"
	"time"

	nodeconfig "github.com/creditexchange/node/node/config"
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

// BenchmarkDecideLatency reports wall-clock latency over 20,000 decisions
// per run, alternately allowed and denied (p50 and p99 of all, and p99 of
// each kind), and the process CPU time per decision (less sensitive than wall
// time to a shared, loaded machine). 2,000 decisions first bring the heap to
// its steady size: on a VM the first touch of each new page costs a fault of
// ≈15 µs, which is start-up, not steady-state, latency.
//
// It runs under Go's default collector target (gogc=100) and under the one
// `creditnode serve` sets (gogc=node, config.DefaultGCPercent): a decision
// that runs while the collector marks is several times slower, so the share
// of decisions that meet a collection, not the policy, sets the p99 at 100.
// BenchmarkMachineJitter gives this machine's own tail for comparison.
func BenchmarkDecideLatency(b *testing.B) {
	for _, gc := range []struct {
		name    string
		percent int
	}{{"gogc=100", 100}, {"gogc=node", nodeconfig.DefaultGCPercent}} {
		b.Run(gc.name, func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(gc.percent))
			benchDecideLatency(b)
		})
	}
}

func benchDecideLatency(b *testing.B) {
	const n, warm = 20_000, 2_000
	e := newEngine(b)
	ctx := context.Background()
	inputs := [2]Input{loanInput(), loanInput()} // allow, deny
	inputs[1].Consent.Categories = []string{"tax_payment"}
	checkBenchInputs(b, e, inputs[0], inputs[1])
	for i := range warm {
		if _, err := e.Decide(ctx, inputs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	var lat [2][]time.Duration
	cpu0 := cpuTime(b)
	runs := 0
	for b.Loop() {
		runs++
		lat[0], lat[1] = make([]time.Duration, 0, n/2), make([]time.Duration, 0, n/2)
		for i := range n {
			t0 := time.Now()
			if _, err := e.Decide(ctx, inputs[i%2]); err != nil {
				b.Fatal(err)
			}
			lat[i%2] = append(lat[i%2], time.Since(t0))
		}
	}
	cpu := cpuTime(b) - cpu0
	all := slices.Sorted(slices.Values(slices.Concat(lat[0], lat[1])))
	b.ReportMetric(float64(cpu.Microseconds())/float64(runs*n), "cpu-µs/decision")
	b.ReportMetric(micros(quantile(all, 0.50)), "p50-µs")
	b.ReportMetric(micros(quantile(all, 0.99)), "p99-µs")
	b.ReportMetric(micros(quantile(slices.Sorted(slices.Values(lat[0])), 0.99)), "allow-p99-µs")
	b.ReportMetric(micros(quantile(slices.Sorted(slices.Values(lat[1])), 0.99)), "deny-p99-µs")
	b.ReportMetric(micros(all[len(all)-1]), "max-µs")
}

// BenchmarkMachineJitter times a fixed, allocation-free piece of CPU work
// (SHA-256 of 128 KiB, about as long as a decision) 20,000 times and reports
// its p50 and p99: the tail this machine adds to any work of that length,
// with no collector and no policy involved. On a 2-core VM, p99 is ≈1.8
// times p50.
func BenchmarkMachineJitter(b *testing.B) {
	const n = 20_000
	buf := make([]byte, 128<<10)
	lat := make([]time.Duration, n)
	var sum [sha256.Size]byte
	for b.Loop() {
		for i := range n {
			t0 := time.Now()
			sum = sha256.Sum256(buf)
			lat[i] = time.Since(t0)
			buf[0] = sum[0] // each round depends on the last
		}
	}
	slices.Sort(lat)
	b.ReportMetric(micros(quantile(lat, 0.50)), "p50-µs")
	b.ReportMetric(micros(quantile(lat, 0.99)), "p99-µs")
	b.ReportMetric(float64(quantile(lat, 0.99))/float64(quantile(lat, 0.50)), "p99/p50")
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

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
