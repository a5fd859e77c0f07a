package vaulte2e_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkQuery measures authorised queries bank-a → tax-dept, the full
// path (sign, mutual TLS, policy, durable log, signed and encrypted answer,
// verified, outbound log), with both nodes' keys in local files, in Vault,
// and in Vault with batched signing:
//
//	go test ./node/vaulte2e -run '^$' -bench Query -cpu 2 -benchtime 10s
func BenchmarkQuery(b *testing.B) {
	for _, c := range []struct {
		name   string
		window time.Duration
		vault  []string
	}{
		{"keys=file", 0, nil},
		{"keys=vault", 0, []string{"bank-a", "tax-dept"}},
		{"keys=vault,batch=2ms", 2 * time.Millisecond, []string{"bank-a", "tax-dept"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := startFed(b, shared, c.window, c.vault...)
			bank := f.nodes["bank-a"].Client
			if _, err := bank.Query(context.Background(), f.query); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4) // 4×GOMAXPROCS concurrent queries
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := bank.Query(context.Background(), f.query); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}
