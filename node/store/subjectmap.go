package store

import (
	"errors"
	"fmt"
)

// The subject map (node/subjectlog) is a sparse Merkle tree from subject
// key to (count, chain head), stored as versioned nodes in the manner of
// Diem's Jellyfish Merkle Tree (JMT; Gao et al., "Jellyfish Merkle Tree",
// 2021) and Trillian's map storage: every node written is a new row keyed by
// (position, revision) and never changed; a reader at revision r takes, per
// position, the row of the largest revision ≤ r. A revision is the inquiry
// log's tree size of the subject checkpoint that commits to it. When a row is
// replaced, its key goes into a stale index with the revision that replaced
// it (JMT's StaleNodeIndex); pruning deletes the rows replaced at or before
// the oldest revision kept, which no kept revision can reach.
//
// The store knows nothing of the tree: positions and node encodings are
// opaque bytes defined by node/subjectlog.

// Bounds of the opaque subject map fields.
const (
	MaxSubjectMapID   = 64  // SubjectMapNode.ID
	MaxSubjectMapNode = 256 // SubjectMapNode.Data
)

// ErrSubjectMapConflict is returned by CommitSubjectMap when the newest
// stored revision is not the update's Prev: another writer moved the map on
// (or a commit whose outcome was unknown did land). Nothing is written; the
// caller reloads and recomputes.
var ErrSubjectMapConflict = errors.New("store: subject map moved on")

// SubjectMapNode is one stored node of the subject map.
type SubjectMapNode struct {
	ID   []byte // position in the tree, 1 to MaxSubjectMapID bytes
	Rev  uint64 // revision that wrote it
	Data []byte // the node, 1 to MaxSubjectMapNode bytes
}

// SubjectMapRef names a stored node by position and revision.
type SubjectMapRef struct {
	ID  []byte
	Rev uint64
}

// SubjectMapRevision is one committed state of the map with the signed
// subject checkpoint that commits to it.
type SubjectMapRevision struct {
	Rev  uint64 // the checkpoint's tree size
	Root []byte // map root, HashSize bytes
	Keys uint64 // number of keys (subjects) in the map
	Note []byte // the signed subject checkpoint
}

// SubjectMapUpdate is one revision written atomically: its nodes, the index
// of the nodes they replace, the revision with its signed checkpoint, and
// the pruning of revisions no longer kept.
type SubjectMapUpdate struct {
	// Prev is the newest stored revision the update was computed from, nil
	// if there was none. CommitSubjectMap fails with ErrSubjectMapConflict
	// if it is not (still) the newest.
	Prev *uint64
	// Reset drops every stored revision and node first: the map was
	// rebuilt from the log's leaves.
	Reset    bool
	Revision SubjectMapRevision
	// Nodes are written at Revision.Rev (their Rev field is ignored).
	Nodes []SubjectMapNode
	// Replaced are the stored nodes that Nodes replace: stale from
	// Revision.Rev on.
	Replaced []SubjectMapRef
	// Keep is how many revisions stay, counting this one (at least 1).
	Keep int
}

func (u *SubjectMapUpdate) validate() error {
	r := &u.Revision
	switch {
	case len(r.Root) != HashSize:
		return invalid("subject map root of %d bytes", len(r.Root))
	case len(r.Note) == 0:
		return invalid("subject map revision %d without a checkpoint", r.Rev)
	case r.Rev > 1<<63-1:
		return invalid("subject map revision %d", r.Rev)
	case u.Keep < 1:
		return invalid("subject map keep %d", u.Keep)
	case u.Prev != nil && !u.Reset && *u.Prev >= r.Rev:
		return invalid("subject map revision %d after %d", r.Rev, *u.Prev)
	}
	return nil
}

func validSubjectMapNode(id, data []byte) error {
	if len(id) == 0 || len(id) > MaxSubjectMapID || len(data) == 0 || len(data) > MaxSubjectMapNode {
		return invalid("subject map node of %d-byte id and %d-byte data", len(id), len(data))
	}
	return nil
}

func checkSubjectMapPrev(newest *uint64, prev *uint64) error {
	switch {
	case newest == nil && prev == nil:
		return nil
	case newest != nil && prev != nil && *newest == *prev:
		return nil
	case newest == nil:
		return fmt.Errorf("%w: no revision stored, update built on %d", ErrSubjectMapConflict, *prev)
	case prev == nil:
		return fmt.Errorf("%w: revision %d stored, update built on none", ErrSubjectMapConflict, *newest)
	}
	return fmt.Errorf("%w: revision %d stored, update built on %d", ErrSubjectMapConflict, *newest, *prev)
}

// subjectMapChunk bounds the ids of one IN list.
const subjectMapChunk = 500
