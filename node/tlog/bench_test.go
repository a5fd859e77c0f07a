package tlog_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
)

// BenchmarkDurableAppend compares durable appends through the sequencer
// (group commit, 32 concurrent writers) with one transaction per append
// (store.AppendInquiry, the path before the sequencer), reporting appends/s
// and the p99 latency of one append.
func BenchmarkDurableAppend(b *testing.B) {
	report := func(b *testing.B, lat []time.Duration, elapsed time.Duration) {
		slices.Sort(lat)
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "appends/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.Run("one-by-one", func(b *testing.B) {
		f := newFixture(b)
		ls := make([]store.Leaf, b.N)
		for i := range ls {
			ls[i] = leaf(b, i)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		t0 := time.Now()
		for i := range b.N {
			s := time.Now()
			if _, err := f.st.AppendInquiry(context.Background(), ls[i]); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(s))
		}
		report(b, lat, time.Since(t0))
	})
	b.Run("sequencer-32", func(b *testing.B) {
		f := newFixture(b)
		const writers = 32
		ls := make([]store.Leaf, b.N)
		for i := range ls {
			ls[i] = leaf(b, i)
		}
		var mu sync.Mutex
		lat := make([]time.Duration, 0, b.N)
		var wg sync.WaitGroup
		b.ResetTimer()
		t0 := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < b.N; i += writers {
					s := time.Now()
					if _, err := f.seq.AppendInquiry(context.Background(), ls[i]); err != nil {
						b.Error(err)
						return
					}
					d := time.Since(s)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		report(b, lat, time.Since(t0))
	})
}

// BenchmarkInclusionProof reads and verifies an inclusion proof in a log of
// CREDITNODE_BENCH_LEAVES leaves (default 1<<20), generated straight into
// the store in the setup (batches of 10k leaves, then integrated).
func BenchmarkInclusionProof(b *testing.B) {
	n := uint64(1 << 20)
	if s := os.Getenv("CREDITNODE_BENCH_LEAVES"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	ctx := context.Background()
	f := newFixture(b)
	f.seq.Close() // the setup writes directly
	t0 := time.Now()
	const chunk = 10000
	items := make([]store.BatchItem, 0, chunk)
	for done := uint64(0); done < n; {
		items = items[:0]
		for i := 0; i < chunk && done < n; i, done = i+1, done+1 {
			l := leaf(b, int(done))
			items = append(items, store.BatchItem{Leaf: &l})
		}
		if _, err := f.st.AppendBatch(ctx, store.LogInquiry, items); err != nil {
			b.Fatal(err)
		}
	}
	f.start(b) // integrates everything and signs a checkpoint
	b.Logf("setup: %d leaves appended and integrated in %s", n, time.Since(t0).Round(time.Millisecond))
	cp := f.latest(b)
	if cp.Size != n {
		b.Fatalf("checkpoint size %d, want %d", cp.Size, n)
	}
	leaves, err := f.st.InquiryLeaves(ctx, 0, min(n, 1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		idx := uint64(i*7919) % uint64(len(leaves))
		if i%2 == 1 {
			idx = n - 1 - uint64(i)%min(n, 1000) // the right edge too
			ls, err := f.st.InquiryLeaves(ctx, idx, idx+1)
			if err != nil {
				b.Fatal(err)
			}
			p, err := f.tree.InclusionProof(ctx, idx, n)
			if err != nil {
				b.Fatal(err)
			}
			if err := tlog.VerifyInclusion(ls[0].LeafHash, idx, n, p, cp.Hash); err != nil {
				b.Fatal(err)
			}
			continue
		}
		p, err := f.tree.InclusionProof(ctx, idx, n)
		if err != nil {
			b.Fatal(err)
		}
		if err := tlog.VerifyInclusion(leaves[idx].LeafHash, idx, n, p, cp.Hash); err != nil {
			b.Fatal(fmt.Errorf("leaf %d: %w", idx, err))
		}
	}
}
