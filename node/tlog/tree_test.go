package tlog_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
)

// refRoot recomputes the root of leaves[:n] independently of the stored tree.
func refRoot(t *testing.T, leaves [][]byte) []byte {
	t.Helper()
	if len(leaves) == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, l := range leaves {
		r.Append(l, nil)
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTreeRootsAndProofs(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture func(testing.TB) *fixture) {
		ctx := context.Background()
		f := newFixture(t)
		const n = 70 // spans stored levels 0 and 4 and partial subtrees
		apps := f.appendN(t, n)
		hashes := make([][]byte, n)
		for i, a := range apps {
			if a.Index != uint64(i) {
				t.Fatalf("leaf %d got index %d", i, a.Index)
			}
			hashes[i] = a.LeafHash
		}
		cp := f.latest(t)
		if cp.Size != n || !bytes.Equal(cp.Hash, refRoot(t, hashes)) {
			t.Fatalf("checkpoint %d %x, want %d %x", cp.Size, cp.Hash, n, refRoot(t, hashes))
		}
		for size := uint64(1); size <= n; size++ {
			root, err := f.tree.Root(ctx, size)
			if err != nil {
				t.Fatal(err)
			}
			if want := refRoot(t, hashes[:size]); !bytes.Equal(root, want) {
				t.Fatalf("root(%d) = %x, want %x", size, root, want)
			}
			var all []uint64
			for i := uint64(0); i < size; i++ {
				p, err := f.tree.InclusionProof(ctx, i, size)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.VerifyInclusion(hashes[i], i, size, p, root); err != nil {
					t.Fatalf("inclusion %d/%d: %v", i, size, err)
				}
				all = append(all, i)
			}
			// The batch proves the same, sharing its node reads.
			ps, err := f.tree.InclusionProofs(ctx, all, size)
			if err != nil || len(ps) != len(all) {
				t.Fatalf("InclusionProofs(%d leaves of %d): %d proofs, %v", len(all), size, len(ps), err)
			}
			for i, p := range ps {
				if err := tlog.VerifyInclusion(hashes[i], uint64(i), size, p, root); err != nil {
					t.Fatalf("batch inclusion %d/%d: %v", i, size, err)
				}
			}
			for from := uint64(1); from <= size; from++ {
				p, err := f.tree.ConsistencyProof(ctx, from, size)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.VerifyConsistency(from, size, p, refRoot(t, hashes[:from]), root); err != nil {
					t.Fatalf("consistency %d→%d: %v", from, size, err)
				}
			}
		}
		if _, err := f.tree.InclusionProof(ctx, 0, n+1); !errors.Is(err, tlog.ErrBadRange) {
			t.Fatalf("proof beyond the tree: %v, want ErrBadRange", err)
		}
		if _, err := f.tree.InclusionProofs(ctx, []uint64{0, n}, n); !errors.Is(err, tlog.ErrBadRange) {
			t.Fatalf("batch proof of an index beyond the size: %v, want ErrBadRange", err)
		}
		if _, err := f.tree.ConsistencyProof(ctx, 0, n); !errors.Is(err, tlog.ErrBadRange) {
			t.Fatalf("consistency from 0: %v, want ErrBadRange", err)
		}
		if _, err := f.tree.ConsistencyProof(ctx, 5, 4); !errors.Is(err, tlog.ErrBadRange) {
			t.Fatalf("consistency larger→smaller: %v, want ErrBadRange", err)
		}
	})
}

// Attack 18: inclusion proofs that must fail.
func TestInclusionProofTampering(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture func(testing.TB) *fixture) {
		ctx := context.Background()
		f := newFixture(t)
		apps := f.appendN(t, 22)
		const idx, size = 6, 21
		root, _ := f.tree.Root(ctx, size)
		// A proof binds a root; the size comes with the root from a signed
		// checkpoint. Off-by-one sizes are checked against their own roots.
		rootPlus, _ := f.tree.Root(ctx, size+1)
		rootMinus, _ := f.tree.Root(ctx, size-1)
		good, err := f.tree.InclusionProof(ctx, idx, size)
		if err != nil {
			t.Fatal(err)
		}
		leafHash := apps[idx].LeafHash
		if err := tlog.VerifyInclusion(leafHash, idx, size, good, root); err != nil {
			t.Fatalf("good proof: %v", err)
		}
		clone := func() [][]byte {
			out := make([][]byte, len(good))
			for i := range good {
				out[i] = bytes.Clone(good[i])
			}
			return out
		}
		flipped := clone()
		flipped[1][5] ^= 0x10
		cases := []struct {
			name        string
			leaf        []byte
			index, size uint64
			proof       [][]byte
			root        []byte
			want        error
		}{
			{"flipped bit", leafHash, idx, size, flipped, root, tlog.ErrProofInvalid},
			{"truncated", leafHash, idx, size, clone()[:len(good)-1], root, tlog.ErrProofInvalid},
			{"extra node", leafHash, idx, size, append(clone(), make([]byte, 32)), root, tlog.ErrProofInvalid},
			{"index+1", leafHash, idx + 1, size, clone(), root, tlog.ErrProofInvalid},
			{"index-1", leafHash, idx - 1, size, clone(), root, tlog.ErrProofInvalid},
			{"size+1", leafHash, idx, size + 1, clone(), rootPlus, tlog.ErrProofInvalid},
			{"size-1", leafHash, idx, size - 1, clone(), rootMinus, tlog.ErrProofInvalid},
			{"other leaf", apps[idx+1].LeafHash, idx, size, clone(), root, tlog.ErrProofInvalid},
			{"index = size", leafHash, size, size, clone(), root, tlog.ErrBadRange},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if err := tlog.VerifyInclusion(c.leaf, c.index, c.size, c.proof, c.root); !errors.Is(err, c.want) {
					t.Fatalf("got %v, want %v", err, c.want)
				}
			})
		}
	})
}

// Attack 19: consistency proofs that must fail.
func TestConsistencyProofTampering(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture func(testing.TB) *fixture) {
		ctx := context.Background()
		f := newFixture(t)
		f.appendN(t, 13)
		root7, _ := f.tree.Root(ctx, 7)
		root13, _ := f.tree.Root(ctx, 13)
		good, err := f.tree.ConsistencyProof(ctx, 7, 13)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyConsistency(7, 13, good, root7, root13); err != nil {
			t.Fatalf("good proof: %v", err)
		}
		flipped := make([][]byte, len(good))
		for i := range good {
			flipped[i] = bytes.Clone(good[i])
		}
		flipped[0][0] ^= 1
		cases := []struct {
			name         string
			from, to     uint64
			proof        [][]byte
			root1, root2 []byte
			want         error
		}{
			{"from size 0", 0, 13, nil, tlog.EmptyRoot(), root13, tlog.ErrBadRange},
			{"from size 0 with the other root", 0, 13, nil, root7, root13, tlog.ErrBadRange},
			{"larger to smaller", 13, 7, good, root13, root7, tlog.ErrBadRange},
			{"swapped roots", 7, 13, good, root13, root7, tlog.ErrProofInvalid},
			{"flipped bit", 7, 13, flipped, root7, root13, tlog.ErrProofInvalid},
			{"truncated", 7, 13, good[:len(good)-1], root7, root13, tlog.ErrProofInvalid},
			{"equal sizes, different roots", 13, 13, nil, root7, root13, tlog.ErrProofInvalid},
			{"from off by one", 8, 13, good, root7, root13, tlog.ErrProofInvalid},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if err := tlog.VerifyConsistency(c.from, c.to, c.proof, c.root1, c.root2); !errors.Is(err, c.want) {
					t.Fatalf("got %v, want %v", err, c.want)
				}
			})
		}
	})
}

// The sequencer survives a restart: a new one on the same store continues
// the indexes and the tree.
func TestSequencerRestartContinues(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture func(testing.TB) *fixture) {
		f := newFixture(t)
		first := f.appendN(t, 5)
		if err := f.seq.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.seq.AppendInquiry(context.Background(), leaf(t, 0)); !errors.Is(err, tlog.ErrClosed) {
			t.Fatalf("append after Close: %v, want ErrClosed", err)
		}
		f.start(t)
		second := f.appendN(t, 3)
		if second[0].Index != 5 {
			t.Fatalf("index after restart %d, want 5", second[0].Index)
		}
		var all [][]byte
		for _, a := range append(first, second...) {
			all = append(all, a.LeafHash)
		}
		if cp := f.latest(t); cp.Size != 8 || !bytes.Equal(cp.Hash, refRoot(t, all)) {
			t.Fatalf("checkpoint after restart: size %d", cp.Size)
		}
		if _, err := f.seq.AppendOutbound(context.Background(), leaf(t, 0)); !errors.Is(err, tlog.ErrWrongLog) {
			t.Fatalf("outbound append on the inquiry sequencer: %v", err)
		}
		_ = store.LogOutbound
	})
}
