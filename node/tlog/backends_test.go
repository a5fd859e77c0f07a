package tlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
)

// openAgain opens a second handle on f's database, as another process would.
func openAgain(t *testing.T, f *fixture) testStore {
	t.Helper()
	var st testStore
	var err error
	switch f.dialect {
	case "sqlite":
		st, err = store.OpenSQLite(context.Background(), f.path)
	default:
		st, err = store.OpenPostgres(context.Background(), f.path)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Two sequencers on one database (two nodes' processes sharing a store by
// mistake, or a restart overlapping the old process): appends and commits
// from both interleave, indexes stay dense and unique, a request id is
// accepted once across both, and the tree and checkpoints they build
// together audit clean.
func TestTwoSequencersOneDatabase(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture func(testing.TB) *fixture) {
		ctx := context.Background()
		f := newFixture(t)
		other, err := tlog.NewSequencer(ctx, tlog.SequencerOptions{
			Store: openAgain(t, f), Log: store.LogInquiry, Signer: f.sig, CheckpointAfterBatch: true, Logger: quiet(),
		})
		if err != nil {
			t.Fatal(err)
		}
		seqs := []*tlog.Sequencer{f.seq, other}
		const writers, each = 8, 12
		var mu sync.Mutex
		seen := map[uint64]bool{}
		replays, accepted := 0, 0
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					seq := seqs[(w+i)%2]
					var a store.Appended
					var err error
					if i%3 == 0 {
						// Writers w and w^1 send the same request ids through
						// different sequencers.
						a, err = seq.CommitInquiry(ctx, store.Commit{Requester: "bank-a", RequestID: fmt.Sprintf("r%d-%d", w/2, i), Leaf: leaf(t, w*100+i)})
					} else {
						a, err = seq.AppendInquiry(ctx, leaf(t, w*100+i))
					}
					mu.Lock()
					switch {
					case errors.Is(err, store.ErrReplay):
						replays++
					case err != nil:
						t.Errorf("writer %d append %d: %v", w, i, err)
					case seen[a.Index]:
						t.Errorf("index %d handed out twice", a.Index)
					default:
						seen[a.Index] = true
						accepted++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		commits := writers * ((each + 2) / 3)
		if replays != commits/2 {
			t.Fatalf("%d replays, want %d (each duplicated request id accepted once)", replays, commits/2)
		}
		for i := range uint64(accepted) {
			if !seen[i] {
				t.Fatalf("index %d missing of %d", i, accepted)
			}
		}
		for _, s := range seqs {
			if _, err := s.Publish(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := other.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.seq.Close(); err != nil {
			t.Fatal(err)
		}
		rep := audit(t, f)
		if !rep.OK() || !rep.RootMatches || rep.Rows != uint64(accepted) || rep.LatestSize != uint64(accepted) {
			t.Fatalf("audit after two writers: %+v", rep)
		}
	})
}

// A checkpoint is stored in the same transaction as the tree state it
// signs: an extension whose checkpoint is refused writes nothing, and a
// second, different checkpoint of a published size is a split view.
func TestExtendTreeAllOrNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture func(testing.TB) *fixture) {
		ctx := context.Background()
		f := newFixture(t)
		f.appendN(t, 5)
		if err := f.seq.Close(); err != nil {
			t.Fatal(err)
		}
		before, err := f.st.TreeState(ctx, store.LogInquiry)
		if err != nil {
			t.Fatal(err)
		}
		cps, err := f.st.Checkpoints(ctx, store.LogInquiry)
		if err != nil {
			t.Fatal(err)
		}
		latest := cps[len(cps)-1]

		// Split view: a different root for the published size.
		other := bytes.Repeat([]byte{7}, store.HashSize)
		_, err = f.st.ExtendTree(ctx, store.LogInquiry, 10, func(st store.TreeState, leaves [][]byte) (store.TreeUpdate, error) {
			if len(leaves) != 0 {
				return store.TreeUpdate{}, fmt.Errorf("%d unintegrated leaves", len(leaves))
			}
			return store.TreeUpdate{Checkpoint: &store.Checkpoint{Size: latest.Size, Root: other, Note: []byte("forged\n"), PublishedAt: time.Now()}}, nil
		})
		if !errors.Is(err, store.ErrCheckpointConflict) {
			t.Fatalf("second checkpoint of size %d: %v, want ErrCheckpointConflict", latest.Size, err)
		}
		// The same checkpoint again is a no-op.
		if _, err := f.st.ExtendTree(ctx, store.LogInquiry, 10, func(store.TreeState, [][]byte) (store.TreeUpdate, error) {
			return store.TreeUpdate{Checkpoint: &latest}, nil
		}); err != nil {
			t.Fatalf("republishing the same checkpoint: %v", err)
		}

		// New leaves, integrated with a checkpoint that is refused: neither
		// the nodes nor the state are written.
		for i := range 3 {
			if _, err := f.st.AppendInquiry(ctx, leaf(t, 100+i)); err != nil {
				t.Fatal(err)
			}
		}
		_, err = f.st.ExtendTree(ctx, store.LogInquiry, 10, func(st store.TreeState, leaves [][]byte) (store.TreeUpdate, error) {
			// Level-0 nodes and the new size (the compact range does not
			// matter: the extension is refused).
			up := store.TreeUpdate{State: store.TreeState{Size: st.Size + uint64(len(leaves)), Range: st.Range}}
			for i, h := range leaves {
				up.Nodes = append(up.Nodes, store.TreeNode{Level: 0, Index: st.Size + uint64(i), Hash: h})
			}
			up.Checkpoint = &store.Checkpoint{Size: up.State.Size, Root: other, PublishedAt: time.Now()} // no note
			return up, nil
		})
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("extension with an invalid checkpoint: %v, want ErrInvalid", err)
		}
		after, err := f.st.TreeState(ctx, store.LogInquiry)
		if err != nil {
			t.Fatal(err)
		}
		if after.Size != before.Size {
			t.Fatalf("tree state moved to %d after a refused extension (was %d)", after.Size, before.Size)
		}
		if _, err := f.st.TreeNodes(ctx, store.LogInquiry, 0, before.Size, before.Size+1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("node of a refused extension stored: %v", err)
		}
		cps2, err := f.st.Checkpoints(ctx, store.LogInquiry)
		if err != nil {
			t.Fatal(err)
		}
		if len(cps2) != len(cps) {
			t.Fatalf("%d checkpoints after refusals, want %d", len(cps2), len(cps))
		}

		// A sequencer started now integrates them and signs the new size.
		f.start(t)
		if _, err := f.seq.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		if cp := f.latest(t); cp.Size != before.Size+3 {
			t.Fatalf("checkpoint after catch-up: size %d, want %d", cp.Size, before.Size+3)
		}
		if err := f.seq.Close(); err != nil {
			t.Fatal(err)
		}
		if rep := audit(t, f); !rep.OK() || !rep.RootMatches {
			t.Fatalf("audit: %+v", rep)
		}
	})
}
