package vault_test

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/vault"
)

// BenchmarkSign compares one Transit request per signature with batching,
// under concurrency (SetParallelism(8) × GOMAXPROCS goroutines):
//
//	go test ./crypto/vault -run '^$' -bench Sign -cpu 2
func BenchmarkSign(b *testing.B) {
	tr := newKey(b, connect(b, shared))
	for _, c := range []struct {
		name   string
		window time.Duration
	}{{"direct", 0}, {"batch=1ms", time.Millisecond}, {"batch=5ms", 5 * time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := vault.NewSigner(context.Background(), tr, vault.SignerOptions{BatchWindow: c.window})
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				msg := make([]byte, 600)
				for pb.Next() {
					if _, err := s.Sign(nil, msg, crypto.Hash(0)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
		})
	}
}
