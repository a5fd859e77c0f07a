package subjectlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sort"

	"github.com/creditexchange/node/node/store"
)

// The subject map in the store: the tree of [Map] (same hashes, same
// proofs) kept as versioned nodes, so that an update writes only the nodes
// on the changed keys' paths and a proof reads only the nodes on one path.
// Following Diem's Jellyfish Merkle Tree (JMT), a subtree holding one key is
// stored as that key's leaf at the subtree's position, an empty subtree is
// not stored, and every other subtree is an internal node holding its two
// children's hashes; a node is never changed, a new revision writes a new
// row at the same position (see node/store/subjectmap.go). Unlike JMT the
// internal nodes are binary, the tree of the hashes, not 16-ary: simpler,
// at the price of about four times more rows on a path.

// ErrMapCorrupt: a stored map node is missing, malformed, or does not hash
// to what its parent or the signed subject checkpoint commits to; or a
// stored checkpoint is not one this node signed. The database was changed
// outside the node. Advance rebuilds the map from the log's leaves on its
// next call.
var ErrMapCorrupt = errors.New("subjectlog: stored subject map is corrupt")

// MapStore keeps the map's revisions and versioned nodes (a *store.SQLite
// or *store.Postgres).
type MapStore interface {
	// SubjectMapRevisions returns the newest n revisions, oldest first.
	SubjectMapRevisions(ctx context.Context, n int) ([]store.SubjectMapRevision, error)
	// SubjectMapNodes returns each position's node at revision rev, in one
	// snapshot; store.ErrNotFound if rev is not (or no longer) stored.
	SubjectMapNodes(ctx context.Context, rev uint64, ids [][]byte) ([]store.SubjectMapNode, error)
	// CommitSubjectMap writes one revision atomically.
	CommitSubjectMap(ctx context.Context, u store.SubjectMapUpdate) error
}

// Node encodings.
const (
	nodeLeaf         = 0x00 // 0x00 || key || count (8 bytes, big-endian) || head
	nodeInternal     = 0x01 // 0x01 || left hash || right hash
	leafNodeSize     = 1 + KeySize + 8 + 32
	internalNodeSize = 1 + 2*32
)

// mapNode is a decoded stored node.
type mapNode struct {
	leaf        bool
	key         Key      // leaf
	val         Value    // leaf
	left, right [32]byte // internal: the children's hashes (zero: empty)
	rev         uint64   // the revision that stored it
	stored      bool     // read from the store (false: new in this update)
}

func (n *mapNode) hash() [32]byte {
	if n.leaf {
		return mapLeafHash(n.key, n.val.hash())
	}
	return mapNodeHash(n.left, n.right)
}

func (n *mapNode) child(b int) [32]byte {
	if b == 0 {
		return n.left
	}
	return n.right
}

func (n *mapNode) encode() []byte {
	if n.leaf {
		b := make([]byte, 0, leafNodeSize)
		b = append(b, nodeLeaf)
		b = append(b, n.key[:]...)
		b = binary.BigEndian.AppendUint64(b, n.val.Count)
		return append(b, n.val.Head[:]...)
	}
	b := make([]byte, 0, internalNodeSize)
	b = append(b, nodeInternal)
	b = append(b, n.left[:]...)
	return append(b, n.right[:]...)
}

func decodeNode(sn store.SubjectMapNode) (*mapNode, error) {
	b := sn.Data
	n := &mapNode{rev: sn.Rev, stored: true}
	switch {
	case len(b) == leafNodeSize && b[0] == nodeLeaf:
		n.leaf = true
		copy(n.key[:], b[1:])
		n.val.Count = binary.BigEndian.Uint64(b[1+KeySize:])
		copy(n.val.Head[:], b[1+KeySize+8:])
		if n.val.Count == 0 {
			return nil, fmt.Errorf("%w: a leaf without entries at %x", ErrMapCorrupt, sn.ID)
		}
	case len(b) == internalNodeSize && b[0] == nodeInternal:
		copy(n.left[:], b[1:])
		copy(n.right[:], b[1+32:])
	default:
		return nil, fmt.Errorf("%w: malformed node at %x", ErrMapCorrupt, sn.ID)
	}
	return n, nil
}

// pos is the position of the subtree at depth d on k's path: d (2 bytes,
// big-endian), then the first d bits of k, zero-padded to whole bytes.
func pos(k Key, d int) string {
	n := (d + 7) / 8
	b := make([]byte, 2+n)
	binary.BigEndian.PutUint16(b, uint16(d))
	copy(b[2:], k[:n])
	if d%8 != 0 {
		b[1+n] &= 0xff << (8 - d%8)
	}
	return string(b)
}

// fetchWindow is how many levels of a path are read at once: a little more
// than the expected depth of a leaf among keys random keys (≈ log2 keys + 1),
// so that most paths take one query.
func fetchWindow(keys uint64) int { return bits.Len64(keys) + 4 }

// nodeSet holds the nodes read, by position.
type nodeSet map[string]*mapNode

// fetchPaths reads, at revision rev, the stored nodes on the paths of keys,
// window levels per query, until every path ends at a leaf, an empty child
// or a missing node (which the caller's hash checks report).
func fetchPaths(ctx context.Context, st MapStore, rev uint64, keys []Key, window int) (nodeSet, error) {
	have := nodeSet{}
	asked := map[string]bool{}
	pending := keys
	for from := 0; len(pending) > 0 && from <= MaxMapDepth; from += window {
		to := min(from+window, MaxMapDepth+1)
		var ids [][]byte
		for _, k := range pending {
			for d := from; d < to; d++ {
				if p := pos(k, d); !asked[p] {
					asked[p] = true
					ids = append(ids, []byte(p))
				}
			}
		}
		slices.SortFunc(ids, bytes.Compare) // neighbouring rows read together
		got, err := st.SubjectMapNodes(ctx, rev, ids)
		if err != nil {
			return nil, err
		}
		for _, sn := range got {
			if sn.Rev > rev || !asked[string(sn.ID)] {
				return nil, fmt.Errorf("%w: node %x of revision %d read at %d", ErrMapCorrupt, sn.ID, sn.Rev, rev)
			}
			n, err := decodeNode(sn)
			if err != nil {
				return nil, err
			}
			have[string(sn.ID)] = n
		}
		var next []Key
		for _, k := range pending {
			if have.pathOpen(k, to) {
				next = append(next, k)
			}
		}
		pending = next
	}
	return have, nil
}

// pathOpen reports whether k's path goes on below depth to-1 through the
// nodes read: its node at depth to is still to be read.
func (have nodeSet) pathOpen(k Key, to int) bool {
	for d := range to {
		n := have[pos(k, d)]
		if n == nil || n.leaf || n.child(bit(k, d)) == ([32]byte{}) {
			return false
		}
	}
	return true
}

// node returns the node read at position p, checking that it hashes to h,
// what its parent (or the signed root) commits to.
func (have nodeSet) node(p string, h [32]byte) (*mapNode, error) {
	n := have[p]
	if n == nil {
		return nil, fmt.Errorf("%w: node %x missing", ErrMapCorrupt, p)
	}
	if n.hash() != h {
		return nil, fmt.Errorf("%w: node %x (revision %d) does not match its parent's hash", ErrMapCorrupt, p, n.rev)
	}
	return n, nil
}

// mapRevision is a committed map state: its revision, root and key count.
type mapRevision struct {
	rev  uint64
	root [32]byte
	keys uint64
}

// proveStored returns k's value and map proof at revision r, reading the
// nodes on k's path and checking each against its parent's hash up to r's
// signed root; the proof is verified before it is returned.
func proveStored(ctx context.Context, st MapStore, r mapRevision, k Key) (Value, MapProof, error) {
	var v Value
	var p MapProof
	have, err := fetchPaths(ctx, st, r.rev, []Key{k}, fetchWindow(r.keys))
	if err != nil {
		return v, p, err
	}
	h := r.root
	for d := 0; h != ([32]byte{}); d++ {
		n, err := have.node(pos(k, d), h)
		if err != nil {
			return v, p, err
		}
		if n.leaf {
			if n.key == k {
				v = n.val
			} else {
				o := n.key
				p.OtherKey, p.OtherValueHash = &o, n.val.hash()
			}
			break
		}
		if d == MaxMapDepth {
			return v, p, fmt.Errorf("%w: internal node at depth %d", ErrMapCorrupt, d)
		}
		b := bit(k, d)
		p.Siblings = append(p.Siblings, n.child(1-b))
		h = n.child(b)
	}
	if err := VerifyMapProof(r.root, k, v, p); err != nil {
		return v, p, fmt.Errorf("%w: %v", ErrMapCorrupt, err)
	}
	return v, p, nil
}

// keyUpdate is what a batch appends to one key's chain.
type keyUpdate struct {
	key    Key
	leaves []leafRef // in index order
}

type leafRef struct {
	index uint64
	hash  []byte
}

// mapUpdate is a computed revision: its root and key count, the nodes to
// write and the stored nodes they replace.
type mapUpdate struct {
	root     [32]byte
	keys     uint64
	nodes    []store.SubjectMapNode
	replaced []store.SubjectMapRef
}

// computeUpdate folds ups (sorted by key, one per key) into the map at
// base (nil: the empty map). It reads only the nodes on the paths of ups'
// keys, checks each against its parent's hash and base's root (ErrMapCorrupt),
// and returns the new nodes on those paths: O(k log n) for k keys among n.
func computeUpdate(ctx context.Context, st MapStore, base *mapRevision, ups []keyUpdate) (*mapUpdate, error) {
	out := &mapUpdate{}
	var have nodeSet
	var root *mapNode
	if base != nil {
		out.root, out.keys = base.root, base.keys
	}
	if base != nil && base.root != ([32]byte{}) && len(ups) > 0 {
		keys := make([]Key, len(ups))
		for i, u := range ups {
			keys[i] = u.key
		}
		var err error
		if have, err = fetchPaths(ctx, st, base.rev, keys, fetchWindow(base.keys+uint64(len(ups)))); err != nil {
			return nil, err
		}
		if root, err = have.node(pos(Key{}, 0), base.root); err != nil {
			return nil, err
		}
	}
	if len(ups) == 0 {
		return out, nil
	}
	u := &updater{have: have, out: out}
	h, err := u.put(0, pos(Key{}, 0), root, ups)
	if err != nil {
		return nil, err
	}
	out.root = h
	// Written in key order, the rows of a revision land in neighbouring
	// pages of the store's index.
	slices.SortFunc(out.nodes, func(a, b store.SubjectMapNode) int { return bytes.Compare(a.ID, b.ID) })
	slices.SortFunc(out.replaced, func(a, b store.SubjectMapRef) int { return bytes.Compare(a.ID, b.ID) })
	return out, nil
}

type updater struct {
	have nodeSet
	out  *mapUpdate
}

// put applies ups (sorted, non-empty, all below position p at depth d) to
// the subtree cur at p (nil: empty) and returns the new subtree's hash.
func (u *updater) put(d int, p string, cur *mapNode, ups []keyUpdate) ([32]byte, error) {
	if len(ups) == 1 && (cur == nil || cur.leaf && cur.key == ups[0].key) {
		n := &mapNode{leaf: true, key: ups[0].key}
		if cur != nil {
			n.val = cur.val
		} else {
			u.out.keys++
		}
		for _, l := range ups[0].leaves {
			n.val = n.val.extend(l.index, l.hash)
		}
		u.write(p, n, cur)
		return n.hash(), nil
	}
	if d >= MaxMapDepth {
		return [32]byte{}, fmt.Errorf("subjectlog: two updates of one key at depth %d", d)
	}
	var kids [2]*mapNode // children known without reading: a leaf moved down
	var hs [2][32]byte
	switch {
	case cur == nil:
	case cur.leaf: // the key alone here so far gets company: it moves down
		moved := &mapNode{leaf: true, key: cur.key, val: cur.val}
		b := bit(cur.key, d)
		kids[b], hs[b] = moved, moved.hash()
	default:
		hs = [2][32]byte{cur.left, cur.right}
	}
	i := sort.Search(len(ups), func(i int) bool { return bit(ups[i].key, d) == 1 })
	for b, side := range [2][]keyUpdate{ups[:i], ups[i:]} {
		switch {
		case len(side) > 0:
			cp := pos(side[0].key, d+1)
			c := kids[b]
			if c == nil && hs[b] != ([32]byte{}) {
				var err error
				if c, err = u.have.node(cp, hs[b]); err != nil {
					return [32]byte{}, err
				}
			}
			h, err := u.put(d+1, cp, c, side)
			if err != nil {
				return [32]byte{}, err
			}
			hs[b] = h
		case kids[b] != nil: // the moved leaf, alone on its side
			u.write(pos(kids[b].key, d+1), kids[b], nil)
		}
	}
	n := &mapNode{left: hs[0], right: hs[1]}
	u.write(p, n, cur)
	return n.hash(), nil
}

// write adds n at p to the update; old is what was at p (nil: nothing).
func (u *updater) write(p string, n, old *mapNode) {
	u.out.nodes = append(u.out.nodes, store.SubjectMapNode{ID: []byte(p), Data: n.encode()})
	if old != nil && old.stored {
		u.out.replaced = append(u.out.replaced, store.SubjectMapRef{ID: []byte(p), Rev: old.rev})
	}
}

// extend is v with the leaf at index appended to its chain.
func (v Value) extend(index uint64, leafHash []byte) Value {
	return Value{Count: v.Count + 1, Head: ExtendChain(v.Head, index, leafHash)}
}
