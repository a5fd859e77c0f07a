package subjectlog

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

func benchMap(b *testing.B, n int) (*Map, []Key) {
	m := NewMap()
	keys := make([]Key, n)
	for i := range keys {
		binary.BigEndian.PutUint64(keys[i][:], uint64(i)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(keys[i][8:], uint64(i))
		m.Append(keys[i], uint64(i), keys[i][:])
	}
	return m, keys
}

// BenchmarkMapRoot10k: a subject checkpoint's map root over 10,000 subjects.
func BenchmarkMapRoot10k(b *testing.B) {
	m, _ := benchMap(b, 10_000)
	for b.Loop() {
		m.Root()
	}
}

// BenchmarkMapProve10k: one subject's map proof among 10,000.
func BenchmarkMapProve10k(b *testing.B) {
	m, keys := benchMap(b, 10_000)
	for b.Loop() {
		m.Prove(keys[17])
	}
}

func BenchmarkVRFProve(b *testing.B) {
	k := mustVRF(b)
	for b.Loop() {
		k.Prove([]byte("91110000100000016D"))
	}
}

func BenchmarkVRFVerify(b *testing.B) {
	k := mustVRF(b)
	pi, _, _ := k.Prove([]byte("91110000100000016D"))
	for b.Loop() {
		VerifyVRF(k.Public(), []byte("91110000100000016D"), pi)
	}
}

// benchSizes reads a comma-separated list of sizes from env, or def.
func benchSizes(b *testing.B, env string, def ...int) []int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s: %q", env, s)
		}
		out = append(out, n)
	}
	return out
}

// cpuTime is the process's user+system CPU time: on a loaded machine a
// steadier measure than the wall time (it leaves out the waits for the
// disk and for other processes).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since c0.
func reportCPU(b *testing.B, c0 time.Duration) {
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
}

// loopCPU runs op(0), op(1), … for b.Loop and reports the CPU time per op.
func loopCPU(b *testing.B, op func(i int)) {
	i, c0 := 0, cpuTime()
	for b.Loop() {
		op(i)
		i++
	}
	reportCPU(b, c0)
}

// buildStoredMap fills st with n subjects, one entry each, in revisions of
// at most 1<<16 keys (what one Advance folds at most), and returns the
// newest revision.
func buildStoredMap(b *testing.B, st MapStore, n int) *mapRevision {
	var r *mapRevision
	var rev uint64
	for done := 0; done < n; {
		ups := make([]keyUpdate, 0, min(n-done, maxFoldLeaves))
		for ; done < n && len(ups) < maxFoldLeaves; done++ {
			ups = append(ups, keyUpdate{key: testKey(done), leaves: []leafRef{{index: uint64(done), hash: leafOf(uint64(done))}}})
		}
		slices.SortFunc(ups, func(a, b keyUpdate) int { return compareKeys(a.key, b.key) })
		rev += uint64(len(ups))
		r = commitBatch(b, st, r, rev, ups)
	}
	// Revisions without changes, so that the bulk revisions are pruned
	// before anything is measured.
	for range storeKeep {
		rev++
		r = commitBatch(b, st, r, rev, nil)
	}
	return r
}

// BenchmarkStoredMap: the stored map (SQLite file, synchronous=FULL) of N
// subjects: a proof (reading the nodes on one path, checked up to the root)
// and an update of k changed subjects (computing and committing a revision:
// one transaction, one fsync). N from CREDITNODE_BENCH_SUBJECTS (default
// 10000; e.g. 10000,100000,1000000).
func BenchmarkStoredMap(b *testing.B) {
	for _, n := range benchSizes(b, "CREDITNODE_BENCH_SUBJECTS", 10_000) {
		b.Run(fmt.Sprintf("subjects=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "node.db")
			st, err := store.OpenSQLite(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			t0 := time.Now()
			r := buildStoredMap(b, st, n)
			took := time.Since(t0)
			rows := 0
			if err := st.ScanSubjectMapNodes(context.Background(), r.rev, func(store.SubjectMapNode) error { rows++; return nil }); err != nil {
				b.Fatal(err)
			}
			fi, _ := os.Stat(path)
			b.Logf("setup: %d subjects stored in %s: %d nodes (%.2f per subject), database file %d MiB",
				n, took.Round(time.Millisecond), rows, float64(rows)/float64(n), fi.Size()>>20)
			b.Run("prove", func(b *testing.B) {
				loopCPU(b, func(i int) {
					if _, _, err := proveStored(context.Background(), st, *r, testKey(i*7919%n)); err != nil {
						b.Fatal(err)
					}
				})
			})
			for _, k := range []int{1, 64} {
				b.Run(fmt.Sprintf("update-%d", k), func(b *testing.B) {
					i, nodes, c0 := 0, 0, cpuTime()
					for b.Loop() {
						ups := make([]keyUpdate, k)
						for j := range ups {
							idx := r.rev + uint64(j)
							ups[j] = keyUpdate{key: testKey(i % n), leaves: []leafRef{{index: idx, hash: leafOf(idx)}}}
							i += 7919
						}
						slices.SortFunc(ups, func(a, b keyUpdate) int { return compareKeys(a.key, b.key) })
						ups = slices.CompactFunc(ups, func(a, b keyUpdate) bool { return a.key == b.key })
						up, err := computeUpdate(context.Background(), st, r, ups)
						if err != nil {
							b.Fatal(err)
						}
						nodes += len(up.nodes)
						prev := r.rev
						next := &mapRevision{rev: r.rev + uint64(k), root: up.root, keys: up.keys}
						if err := st.CommitSubjectMap(context.Background(), store.SubjectMapUpdate{
							Prev: &prev, Revision: store.SubjectMapRevision{Rev: next.rev, Root: up.root[:], Keys: up.keys, Note: []byte("bench\n")},
							Nodes: up.nodes, Replaced: up.replaced, Keep: storeKeep,
						}); err != nil {
							b.Fatal(err)
						}
						r = next
					}
					b.ReportMetric(float64(nodes)/float64(b.N), "nodes/op")
					reportCPU(b, c0)
				})
			}
		})
	}
}

// BenchmarkSubjectLookup: what the provider does for a subject reading its
// log, in a log of CREDITNODE_BENCH_LEAVES entries (default 65536) over a
// tenth as many subjects: the subject's entries from the store, an
// inclusion proof for each and the map proof (Committer.Prove); "verify"
// adds the subject's own check (Verify). The setup appends the leaves
// straight into the store, integrates them and lets a Committer fold them
// into the stored map (a VRF evaluation per subject).
func BenchmarkSubjectLookup(b *testing.B) {
	n := benchSizes(b, "CREDITNODE_BENCH_LEAVES", 1<<16)[0]
	subjects := max(1, n/10)
	ctx := context.Background()
	f := newFixture(b)
	t0 := time.Now()
	const chunk = 10000
	items := make([]store.BatchItem, 0, chunk)
	now := time.Now()
	for done := 0; done < n; {
		items = items[:0]
		for ; len(items) < chunk && done < n; done++ {
			e := schemas.InquiryEntry{Kind: schemas.KindQuery, Requester: "bank-a", Subject: fmt.Sprintf("S%07d", done%subjects), Purpose: "loan_approval", Decision: schemas.DecisionAllow}
			l, err := inquirylog.NewLeaf(e, now)
			if err != nil {
				b.Fatal(err)
			}
			items = append(items, store.BatchItem{Leaf: &l})
		}
		if _, err := f.st.AppendBatch(ctx, store.LogInquiry, items); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := f.seq.Publish(ctx); err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	if size, err := f.com.Advance(ctx); err != nil || size != uint64(n) {
		b.Fatalf("advance: %d %v", size, err)
	}
	b.Logf("setup: %d entries over %d subjects appended and integrated in %s, folded into the stored map in %s",
		n, subjects, t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	lookup := func(i int) *schemas.SubjectLog {
		subject := fmt.Sprintf("S%07d", i*7919%subjects)
		leaves, err := f.st.SubjectInquiries(ctx, subject)
		if err != nil {
			b.Fatal(err)
		}
		out := &schemas.SubjectLog{Issuer: "tax-dept", Subject: subject}
		idx := make([]uint64, 0, len(leaves))
		for _, l := range leaves {
			le, err := inquirylog.Decode(l)
			if err != nil {
				b.Fatal(err)
			}
			out.Entries = append(out.Entries, le)
			idx = append(idx, le.Index)
		}
		if out.Proof, err = f.com.Prove(ctx, subject, idx, 0); err != nil {
			b.Fatal(err)
		}
		return out
	}
	// The parts: the map proof alone (with the VRF proof of the key), and
	// the entries with their inclusion proofs (what the log costs anyway).
	b.Run("map-proof", func(b *testing.B) {
		loopCPU(b, func(i int) {
			if _, err := f.com.Prove(ctx, fmt.Sprintf("S%07d", i*7919%subjects), nil, 0); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("entries+inclusion", func(b *testing.B) {
		loopCPU(b, func(i int) {
			leaves, err := f.st.SubjectInquiries(ctx, fmt.Sprintf("S%07d", i*7919%subjects))
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range leaves {
				if _, err := inquirylog.Decode(l); err != nil {
					b.Fatal(err)
				}
				if _, err := f.tree.InclusionProof(ctx, l.Index, uint64(n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("prove", func(b *testing.B) {
		loopCPU(b, func(i int) { lookup(i) })
	})
	b.Run("prove+verify", func(b *testing.B) {
		opts := f.opts()
		loopCPU(b, func(i int) {
			if res, err := Verify(lookup(i), opts); err != nil || res.Committed == 0 {
				b.Fatalf("%+v %v", res, err)
			}
		})
	})
}
