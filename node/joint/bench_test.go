package joint

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/paillier"
)

// BenchmarkTrain measures one training job (alignment, binning, Iterations gradient steps,
// evaluation) on synthetic SME data split 10 bank + 10 department features, with a production
// 2048-bit key (key generation excluded). Run with -benchtime 1x; the reported s/iter is the
// per-iteration cost from which larger sizes extrapolate linearly in rows.
func BenchmarkTrain(b *testing.B) {
	sk, err := paillier.GenerateKey(paillier.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, rows := range []int{500, 2000} {
		b.Run(fmt.Sprintf("rows=%d/features=20/bits=2048", rows), func(b *testing.B) {
			syn := GenerateSME(SynthOptions{Members: rows, GuestFeatures: 10, HostFeatures: []int{10}, Seed: 1, Coverage: 1})
			for b.Loop() {
				host, err := NewHost(syn.Hosts[0], HostOptions{MinCohort: 50})
				if err != nil {
					b.Fatal(err)
				}
				const iters = 2
				var regress time.Duration
				var start time.Time
				g, err := NewGuest(syn.Guest, GuestOptions{MinCohort: 50, Key: sk, Iterations: iters, TestFraction: 0.01,
					Progress: func(step string, it int) {
						if step == "regression" && it == 0 {
							start = time.Now()
						}
						if step == "evaluate" {
							regress = time.Since(start)
						}
					}})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := g.Train(context.Background(), "bench", []HostLink{{Name: "h", Conn: &LocalConn{Host: host}}}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(regress.Seconds()/iters, "s/iter")
			}
		})
	}
}
