package tlog

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/creditexchange/node/node/store"
)

// TreeReader is what a Tree reads from the store.
type TreeReader interface {
	TreeState(ctx context.Context, log store.LogID) (store.TreeState, error)
	TreeNodes(ctx context.Context, log store.LogID, level uint, from, to uint64) ([][]byte, error)
	LatestCheckpoint(ctx context.Context, log store.LogID) (store.Checkpoint, error)
}

// Tree reads roots and proofs of one log from the stored tree. It covers the
// leaves integrated so far (TreeState.Size); asking beyond fails with
// ErrBadRange. A Tree is safe for concurrent use.
type Tree struct {
	st  TreeReader
	log store.LogID
	rf  compact.RangeFactory
}

// NewTree returns a reader of log's tree in st.
func NewTree(st TreeReader, log store.LogID) *Tree {
	return &Tree{st: st, log: log, rf: compact.RangeFactory{Hash: hasher.HashChildren}}
}

// Log is the log the tree is of.
func (t *Tree) Log() store.LogID { return t.log }

// LatestCheckpoint returns the signed note of the log's largest checkpoint;
// it fails with store.ErrNotFound before the first is published.
func (t *Tree) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	cp, err := t.st.LatestCheckpoint(ctx, t.log)
	if err != nil {
		return nil, err
	}
	return cp.Note, nil
}

// Size is the number of leaves integrated into the tree.
func (t *Tree) Size(ctx context.Context) (uint64, error) {
	s, err := t.st.TreeState(ctx, t.log)
	return s.Size, err
}

func (t *Tree) checkSize(ctx context.Context, size uint64) error {
	n, err := t.Size(ctx)
	if err != nil {
		return err
	}
	if size > n {
		return fmt.Errorf("%w: size %d beyond the tree's %d", ErrBadRange, size, n)
	}
	return nil
}

// node returns the hash of the perfect subtree id, from the stored level at
// or below it.
func (t *Tree) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	base := id.Level - id.Level%storedStride
	shift := id.Level - base
	hs, err := t.st.TreeNodes(ctx, t.log, base, id.Index<<shift, (id.Index+1)<<shift)
	if err != nil {
		return nil, err
	}
	for len(hs) > 1 {
		for i := 0; i < len(hs)/2; i++ {
			hs[i] = hasher.HashChildren(hs[2*i], hs[2*i+1])
		}
		hs = hs[:len(hs)/2]
	}
	return hs[0], nil
}

func (t *Tree) nodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.node(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// Root is the root hash of the tree of the first size leaves.
func (t *Tree) Root(ctx context.Context, size uint64) ([]byte, error) {
	if err := t.checkSize(ctx, size); err != nil {
		return nil, err
	}
	if size == 0 {
		return EmptyRoot(), nil
	}
	hs, err := t.nodes(ctx, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	r, err := t.rf.NewRange(0, size, hs)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// InclusionProof proves that leaf index is in the tree of the given size.
func (t *Tree) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("%w: index %d in a tree of size %d", ErrBadRange, index, size)
	}
	if err := t.checkSize(ctx, size); err != nil {
		return nil, err
	}
	ns, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRange, err)
	}
	return t.rehash(ctx, ns)
}

// InclusionProofs is InclusionProof for each of indexes in the tree of the
// given size, reading each stored node once for all of them (the proofs
// of many leaves share their upper nodes, and neighbours most of theirs):
// a page of a subject's entries is proven in one call.
func (t *Tree) InclusionProofs(ctx context.Context, indexes []uint64, size uint64) ([][][]byte, error) {
	if err := t.checkSize(ctx, size); err != nil {
		return nil, err
	}
	memo := make(map[compact.NodeID][]byte)
	out := make([][][]byte, len(indexes))
	for i, index := range indexes {
		if index >= size {
			return nil, fmt.Errorf("%w: index %d in a tree of size %d", ErrBadRange, index, size)
		}
		ns, err := proof.Inclusion(index, size)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadRange, err)
		}
		hs := make([][]byte, len(ns.IDs))
		for j, id := range ns.IDs {
			h, ok := memo[id]
			if !ok {
				if h, err = t.node(ctx, id); err != nil {
					return nil, err
				}
				memo[id] = h
			}
			hs[j] = h
		}
		if out[i], err = ns.Rehash(hs, hasher.HashChildren); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ConsistencyProof proves that the tree of size from is a prefix of the tree
// of size to. from must be at least 1 and at most to.
func (t *Tree) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	if from == 0 || from > to {
		return nil, fmt.Errorf("%w: consistency from %d to %d", ErrBadRange, from, to)
	}
	if err := t.checkSize(ctx, to); err != nil {
		return nil, err
	}
	ns, err := proof.Consistency(from, to)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRange, err)
	}
	return t.rehash(ctx, ns)
}

func (t *Tree) rehash(ctx context.Context, ns proof.Nodes) ([][]byte, error) {
	hs, err := t.nodes(ctx, ns.IDs)
	if err != nil {
		return nil, err
	}
	return ns.Rehash(hs, hasher.HashChildren)
}

// extension computes the tree update for appending leafHashes to st: the new
// compact range and the nodes to store (levels 0, 4, 8, …). It returns the
// new root too.
func extension(rf *compact.RangeFactory, st store.TreeState, leafHashes [][]byte) (store.TreeUpdate, []byte, error) {
	r, err := rf.NewRange(0, st.Size, st.Range)
	if err != nil {
		return store.TreeUpdate{}, nil, fmt.Errorf("%w: %v", store.ErrTreeCorrupt, err)
	}
	var up store.TreeUpdate
	visit := func(id compact.NodeID, h []byte) {
		if id.Level%storedStride == 0 {
			up.Nodes = append(up.Nodes, store.TreeNode{Level: id.Level, Index: id.Index, Hash: h})
		}
	}
	for _, h := range leafHashes {
		if len(h) != hasher.Size() {
			return store.TreeUpdate{}, nil, fmt.Errorf("%w: leaf hash of %d bytes", store.ErrTreeCorrupt, len(h))
		}
		if err := r.Append(h, visit); err != nil {
			return store.TreeUpdate{}, nil, err
		}
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return store.TreeUpdate{}, nil, err
	}
	up.State = store.TreeState{Size: r.End(), Range: r.Hashes()}
	return up, root, nil
}
