package store_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/storetest"
)

var _ storetest.Backend = (*store.SQLite)(nil)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "node.db")
		return func(ctx context.Context) (storetest.Backend, error) {
			return store.OpenSQLite(ctx, path)
		}
	})
}

// sqliteDB opens a new database file per test, reopened by every call.
func sqliteDB(t *testing.T) func(context.Context) (*store.SQLite, error) {
	path := filepath.Join(t.TempDir(), "node.db")
	return func(ctx context.Context) (*store.SQLite, error) { return store.OpenSQLite(ctx, path) }
}

// TestSQLiteFeatures runs every feature suite on SQLite.
func TestSQLiteFeatures(t *testing.T) { storetest.RunFeatures(t, sqliteDB) }

func benchLeaf(n int) store.Leaf {
	entry := fmt.Appendf(nil, `{"n":%d,"purpose":"credit_assessment","categories":["loans"]}`, n)
	salt := sha256.Sum256(entry)
	h := sha256.Sum256(append(append([]byte{0}, salt[:]...), entry...))
	return store.Leaf{Subject: fmt.Sprintf("s%d", n%1000), Time: time.Now(), Entry: entry, Salt: salt[:], LeafHash: h[:]}
}

func openBench(b *testing.B) *store.SQLite {
	s, err := store.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCommitInquiry measures durable commits, one transaction (and one
// fsync of the WAL) each.
func BenchmarkCommitInquiry(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		s := openBench(b)
		n := 0
		for b.Loop() {
			c := store.Commit{Requester: "bank-a", RequestID: fmt.Sprint(n), ConsentID: fmt.Sprint("c", n), MaxUses: 1, Leaf: benchLeaf(n)}
			if _, err := s.CommitInquiry(b.Context(), c); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	b.Run("parallel", func(b *testing.B) {
		s := openBench(b)
		b.SetParallelism(8)
		var ids atomicCounter
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := ids.next()
				c := store.Commit{Requester: "bank-a", RequestID: fmt.Sprint(n), ConsentID: fmt.Sprint("c", n), MaxUses: 1, Leaf: benchLeaf(n)}
				if _, err := s.CommitInquiry(b.Context(), c); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
}

// BenchmarkCommitBatch measures group commit: 64 commits per transaction.
func BenchmarkCommitBatch(b *testing.B) {
	const size = 64
	s := openBench(b)
	n := 0
	batch := make([]store.Commit, size)
	for b.Loop() {
		for i := range batch {
			batch[i] = store.Commit{Requester: "bank-a", RequestID: fmt.Sprint(n), ConsentID: fmt.Sprint("c", n), MaxUses: 1, Leaf: benchLeaf(n)}
			n++
		}
		res, err := s.CommitBatch(b.Context(), batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "commits/s")
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1)) }
