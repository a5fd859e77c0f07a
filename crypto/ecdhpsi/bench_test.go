package ecdhpsi

import (
	"fmt"
	"os"
	"testing"
)

func benchIDs(n int, prefix string) [][]byte {
	ids := make([][]byte, n)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "%s-%09d", prefix, i)
	}
	return ids
}

// Per-core throughput: Workers: 1.

func BenchmarkBlindIdentifiers1Core(b *testing.B) {
	k := NewKey()
	ids := benchIDs(1000, "id")
	for b.Loop() {
		if _, err := k.BlindIdentifiers(ids, Options{Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ids)*b.N)/b.Elapsed().Seconds(), "items/s")
}

func BenchmarkBlind1Core(b *testing.B) {
	k := NewKey()
	in, _ := NewKey().BlindIdentifiers(benchIDs(1000, "id"), Options{})
	for b.Loop() {
		if _, err := k.Blind(in, Options{Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in)*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkProtocol runs the whole protocol, both parties in this process
// sharing the cores (in production each runs on its own machine). Set
// CREDITNODE_BENCH_PSI_100K=1 to add 100,000 × 100,000 (minutes here).
func BenchmarkProtocol(b *testing.B) {
	sizes := []int{1000, 10000}
	if os.Getenv("CREDITNODE_BENCH_PSI_100K") != "" {
		sizes = append(sizes, 100000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dx%d", n, n), func(b *testing.B) {
			guestIDs := benchIDs(n, "g")
			hostIDs := append(benchIDs(n/2, "g"), benchIDs(n-n/2, "h")...)
			for b.Loop() {
				members, n2 := run(b, guestIDs, hostIDs)
				if len(members) != n/2 || n2 != n/2 {
					b.Fatal("wrong intersection")
				}
			}
		})
	}
}
