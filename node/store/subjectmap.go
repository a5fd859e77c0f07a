package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
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

// The subject-map logic both backends share: argument checks and the row
// scans. Each backend keeps its SQL text, its snapshot (SQLite's read
// transaction, PostgreSQL's REPEATABLE READ), its commit lock and how it
// writes the nodes.

// validReplaced checks one of u.Replaced.
func (u *SubjectMapUpdate) validReplaced(r SubjectMapRef) error {
	if len(r.ID) == 0 || len(r.ID) > MaxSubjectMapID || r.Rev >= u.Revision.Rev {
		return invalid("replaced subject map node of %d-byte id at revision %d", len(r.ID), r.Rev)
	}
	return nil
}

// checkSubjectMapRev checks a revision to read at.
func checkSubjectMapRev(rev uint64) error {
	if rev > 1<<63-1 {
		return invalid("subject map revision %d", rev)
	}
	return nil
}

// checkRevisionCount checks SubjectMapRevisions' n.
func checkRevisionCount(n int) error {
	if n < 1 {
		return invalid("subject map revisions %d", n)
	}
	return nil
}

// readSubjectMapRevisions reads rows of (rev, root, keys, note), newest
// first, and returns them oldest first.
func readSubjectMapRevisions(rows rowIter, err error) ([]SubjectMapRevision, error) {
	out, err := collect(rows, err, "reading subject map revisions", func(row rowScanner) (SubjectMapRevision, error) {
		var r SubjectMapRevision
		var rev, keys int64
		err := row.Scan(&rev, &r.Root, &keys, &r.Note)
		r.Rev, r.Keys = uint64(rev), uint64(keys)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

// revisionStored reads row, the revision rev's row if it is stored:
// ErrNotFound if it is not.
func revisionStored(row rowScanner, rev uint64) error {
	var one int
	err := row.Scan(&one)
	switch {
	case isNoRows(err):
		return fmt.Errorf("%w: subject map revision %d", ErrNotFound, rev)
	case err != nil:
		return unavailable("reading subject map revisions", err)
	}
	return nil
}

// newestRevision reads row, MAX(rev) of the stored revisions: nil for none.
func newestRevision(row rowScanner) (*uint64, error) {
	var newest *int64
	if err := row.Scan(&newest); err != nil {
		return nil, unavailable("reading subject map revisions", err)
	}
	if newest == nil {
		return nil, nil
	}
	v := uint64(*newest)
	return &v, nil
}

// oldestKept reads row, the oldest revision a prune keeps; ok is false when
// fewer revisions than the prune keeps are stored (nothing to prune).
func oldestKept(row rowScanner) (oldest int64, ok bool, err error) {
	err = row.Scan(&oldest)
	switch {
	case isNoRows(err):
		return 0, false, nil
	case err != nil:
		return 0, false, unavailable("pruning subject map", err)
	}
	return oldest, true, nil
}

// eachSubjectMapNode calls fn with the last row of each id of rows, which
// are (id, rev, node) ordered by (id, rev) (the primary key's order: no
// sort), and closes rows. A failed query (err) is ErrUnavailable.
func eachSubjectMapNode(rows rowIter, err error, fn func(SubjectMapNode) error) error {
	var pending *SubjectMapNode
	err = eachRow(rows, err, "reading subject map", func(row rowScanner) (SubjectMapNode, error) {
		var n SubjectMapNode
		var rev int64
		err := row.Scan(&n.ID, &rev, &n.Data)
		n.Rev = uint64(rev)
		return n, err
	}, func(n SubjectMapNode) error {
		if pending != nil && string(pending.ID) != string(n.ID) {
			if err := fn(*pending); err != nil {
				return err
			}
		}
		pending = &n
		return nil
	})
	if err != nil {
		return err
	}
	if pending != nil {
		return fn(*pending)
	}
	return nil
}

// eachLeafHash calls fn for every (idx, subject, leaf_hash) row of table
// read from index from on, failing with ErrTreeCorrupt at the first gap.
func eachLeafHash(rows rowIter, err error, table string, from uint64, fn func(index uint64, subject string, leafHash []byte) error) error {
	type row struct {
		idx     int64
		subject string
		hash    []byte
	}
	next := from
	return eachRow(rows, err, "reading "+table, func(r rowScanner) (row, error) {
		var v row
		err := r.Scan(&v.idx, &v.subject, &v.hash)
		return v, err
	}, func(v row) error {
		if uint64(v.idx) != next {
			return fmt.Errorf("%w: %s has index %d where %d was expected", ErrTreeCorrupt, table, v.idx, next)
		}
		next++
		return fn(uint64(v.idx), v.subject, v.hash)
	})
}

// Bounds of a stored witness cosignature.
const (
	MaxCosignatureName = 256 // SubjectCosignature.Name, in bytes
	MaxCosignatureSig  = 512 // SubjectCosignature.Sig, in bytes
)

// SubjectCosignature is a witness's cosignature of the subject checkpoint
// of revision Rev: one signature line of the cosigned note
// (golang.org/x/mod/sumdb/note), that is the witness key's name and hash
// and the signature bytes the line carries base64-encoded (the key hash,
// big-endian, then the signature proper). The store keeps at most one per
// (Rev, Name, Hash) and deletes them with their revision; it does not
// verify them: node/subjectlog does, before storing and after reading.
type SubjectCosignature struct {
	Rev  uint64
	Name string
	Hash uint32
	Sig  []byte
}

// validate checks the bounds of c and that its bytes begin with its hash,
// as a note signature's do.
func (c *SubjectCosignature) validate() error {
	switch {
	case c.Rev > 1<<63-1:
		return invalid("cosignature of subject map revision %d", c.Rev)
	case c.Name == "" || len(c.Name) > MaxCosignatureName || !utf8.ValidString(c.Name) ||
		strings.ContainsRune(c.Name, '+') || strings.IndexFunc(c.Name, unicode.IsSpace) >= 0:
		return invalid("cosignature key name of %d bytes", len(c.Name))
	case len(c.Sig) < 5 || len(c.Sig) > MaxCosignatureSig:
		return invalid("cosignature of %d bytes", len(c.Sig))
	case binary.BigEndian.Uint32(c.Sig) != c.Hash:
		return invalid("cosignature of key hash %08x does not begin with it", c.Hash)
	}
	return nil
}

// validCosignatures checks every one of cs.
func validCosignatures(cs []SubjectCosignature) error {
	for i := range cs {
		if err := cs[i].validate(); err != nil {
			return err
		}
	}
	return nil
}

// cosignatureRevs is the distinct revisions of cs, in order of first
// appearance.
func cosignatureRevs(cs []SubjectCosignature) []uint64 {
	var out []uint64
	for _, c := range cs {
		if !slices.Contains(out, c.Rev) {
			out = append(out, c.Rev)
		}
	}
	return out
}

// checkCosignatureRevs checks the revisions to read the cosignatures of.
func checkCosignatureRevs(revs []uint64) error {
	for _, r := range revs {
		if err := checkSubjectMapRev(r); err != nil {
			return err
		}
	}
	return nil
}

// readSubjectCosignatures reads rows of (rev, key_name, key_hash, sig).
func readSubjectCosignatures(rows rowIter, err error) ([]SubjectCosignature, error) {
	return collect(rows, err, "reading subject map cosignatures", func(row rowScanner) (SubjectCosignature, error) {
		var c SubjectCosignature
		var rev, hash int64
		err := row.Scan(&rev, &c.Name, &hash, &c.Sig)
		c.Rev, c.Hash = uint64(rev), uint32(hash)
		return c, err
	})
}
