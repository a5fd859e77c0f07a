package store

import (
	"context"
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
// it (JMT's StaleNodeIndex): a row written at r and replaced at s is
// reachable from the revisions in [r, s) only. Pruning keeps the newest
// revisions and any older ones the caller retains, and deletes the rows whose
// range holds no kept revision.
//
// The store knows nothing of the tree: positions and node encodings are
// opaque bytes defined by node/subjectlog.

// Bounds of the opaque subject map fields.
const (
	MaxSubjectMapID   = 64  // SubjectMapNode.ID
	MaxSubjectMapNode = 256 // SubjectMapNode.Data
	// MaxSubjectMapRetain bounds SubjectMapUpdate.Retain (and so the
	// revisions kept beyond Keep).
	MaxSubjectMapRetain = 4096
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
	// Keep is how many of the newest revisions stay, counting this one (at
	// least 1).
	Keep int
	// Retain are older stored revisions that stay as well (node/subjectlog
	// keeps recently superseded and witnessed checkpoints); a revision of
	// Retain that is not stored is ignored.
	Retain []uint64
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
	case len(u.Retain) > MaxSubjectMapRetain:
		return invalid("subject map retaining %d revisions", len(u.Retain))
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

// ScanLeafHashes calls fn with the index, subject and leaf hash of every
// leaf of log from index from on, in index order, stopping at fn's first
// error. It is what the subject map (node/subjectlog) needs to follow the
// log without reading entry bytes. A gap in the indexes fails with
// ErrTreeCorrupt.
func (s *ops) ScanLeafHashes(ctx context.Context, log LogID, from uint64, fn func(index uint64, subject string, leafHash []byte) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := s.d.reader().query(ctx, `SELECT idx, subject, leaf_hash FROM `+table+` WHERE idx >= ? ORDER BY idx`, int64(from))
	return eachLeafHash(rows, err, table, from, fn)
}

// SubjectMapRevisions returns the newest n stored revisions of the subject
// map, oldest first (none before the first commit).
func (s *ops) SubjectMapRevisions(ctx context.Context, n int) ([]SubjectMapRevision, error) {
	if err := checkRevisionCount(n); err != nil {
		return nil, err
	}
	rows, err := s.d.reader().query(ctx, `SELECT rev, root, keys, note FROM subject_map_revisions ORDER BY rev DESC LIMIT ?`, n)
	return readSubjectMapRevisions(rows, err)
}

// readRevision runs fn in one snapshot after checking that subject map
// revision rev is stored (ErrNotFound if not).
func (s *ops) readRevision(ctx context.Context, rev uint64, fn func(tx conn) error) error {
	if err := checkSubjectMapRev(rev); err != nil {
		return err
	}
	return s.d.snapshot(ctx, "reading subject map", func(tx conn) error {
		if err := revisionStored(tx.queryRow(ctx, `SELECT 1 FROM subject_map_revisions WHERE rev = ?`, int64(rev)), rev); err != nil {
			return err
		}
		return fn(tx)
	})
}

// SubjectMapNodes returns, for each of ids, the node stored at the largest
// revision ≤ rev; positions with none are left out. The read is one
// snapshot, and fails with ErrNotFound if revision rev is not stored (never
// committed, or pruned), so a result is always of a revision whose nodes
// are all still there.
func (s *ops) SubjectMapNodes(ctx context.Context, rev uint64, ids [][]byte) ([]SubjectMapNode, error) {
	var out []SubjectMapNode
	err := s.readRevision(ctx, rev, func(tx conn) error {
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), subjectMapChunk)]
			ids = ids[len(chunk):]
			cond, args := anyOf(s.d, "id", chunk)
			rows, err := tx.query(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE rev <= ? AND `+cond+` ORDER BY id, rev`,
				append([]any{int64(rev)}, args...)...)
			if err := eachSubjectMapNode(rows, err, func(n SubjectMapNode) error { out = append(out, n); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ScanSubjectMapNodes calls fn with every position's node at revision rev
// (the row of the largest revision ≤ rev), in position order, stopping at
// fn's first error. One snapshot; ErrNotFound if rev is not stored. For
// offline verification.
func (s *ops) ScanSubjectMapNodes(ctx context.Context, rev uint64, fn func(SubjectMapNode) error) error {
	return s.readRevision(ctx, rev, func(tx conn) error {
		rows, err := tx.query(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE rev <= ? ORDER BY id, rev`, int64(rev))
		return eachSubjectMapNode(rows, err, fn)
	})
}

// CommitSubjectMap writes u in one transaction: with Reset, the stored map
// is dropped first; then u's nodes, the stale index of the nodes they
// replace, and the revision with its checkpoint; then the revisions beyond
// the newest u.Keep are pruned with every node only they could reach. It
// fails with ErrSubjectMapConflict if the newest stored revision is not
// u.Prev, and with ErrInvalid for a malformed update or node; either way
// nothing is written.
//
// On PostgreSQL concurrent commits are serialised by an EXCLUSIVE lock on
// subject_map_revisions (readers, which take ACCESS SHARE, are not blocked).
func (s *ops) CommitSubjectMap(ctx context.Context, u SubjectMapUpdate) error {
	if err := u.validate(); err != nil {
		return err
	}
	for _, n := range u.Nodes {
		if err := validSubjectMapNode(n.ID, n.Data); err != nil {
			return err
		}
	}
	for _, r := range u.Replaced {
		if err := u.validReplaced(r); err != nil {
			return err
		}
	}
	rev := int64(u.Revision.Rev)
	return s.d.transact(ctx, "storing subject map", func(tx conn) error {
		if err := s.d.serialise(ctx, tx, "locking subject map", `LOCK TABLE subject_map_revisions IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		have, err := newestRevision(tx.queryRow(ctx, `SELECT MAX(rev) FROM subject_map_revisions`))
		if err != nil {
			return err
		}
		if err := checkSubjectMapPrev(have, u.Prev); err != nil {
			return err
		}
		if u.Reset {
			for _, t := range []string{"subject_map_cosignatures", "subject_map_nodes", "subject_map_stale", "subject_map_revisions"} {
				if _, err := tx.exec(ctx, `DELETE FROM `+t); err != nil { // not TRUNCATE: PostgreSQL readers keep their snapshot
					return unavailable("resetting subject map", err)
				}
			}
		}
		if err := s.d.insertRows(ctx, tx, "storing subject map nodes", "subject_map_nodes", []string{"id", "rev", "node"}, len(u.Nodes), func(i int) []any {
			return []any{u.Nodes[i].ID, rev, u.Nodes[i].Data}
		}); err != nil {
			return err
		}
		if err := s.d.insertRows(ctx, tx, "storing subject map stale index", "subject_map_stale", []string{"stale_since", "id", "rev"}, len(u.Replaced), func(i int) []any {
			return []any{rev, u.Replaced[i].ID, int64(u.Replaced[i].Rev)}
		}); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO subject_map_revisions (rev, root, keys, note) VALUES (?, ?, ?, ?)`,
			rev, u.Revision.Root, int64(u.Revision.Keys), u.Revision.Note); err != nil {
			return unavailable("storing subject map revision", err)
		}
		return s.pruneSubjectMap(ctx, tx, u.Keep, u.Retain)
	})
}

// pruneSubjectMap keeps the newest keep revisions and those of retain: a
// row written at revision r and replaced at revision s is reachable from
// the revisions in [r, s) only, so it goes when none of them is kept, with
// its stale index entry; the revisions not kept go with their
// cosignatures.
func (s *ops) pruneSubjectMap(ctx context.Context, tx conn, keep int, retain []uint64) error {
	oldest, ok, err := oldestKept(tx.queryRow(ctx, `SELECT rev FROM subject_map_revisions ORDER BY rev DESC LIMIT 1 OFFSET ?`, keep-1))
	if err != nil || !ok {
		return err // nil: fewer than keep
	}
	var older []int64 // the retained revisions older than the newest keep
	for _, r := range retain {
		if r <= 1<<63-1 && int64(r) < oldest && !slices.Contains(older, int64(r)) {
			older = append(older, int64(r))
		}
	}
	if len(older) == 0 {
		return pruneBelow(ctx, tx, oldest)
	}
	cond, args := anyOf(s.d, "rev", older)
	byOldest := append([]any{oldest}, args...)
	// A row reachable from none of the kept revisions after this prune but
	// from one before it reaches one of those pruned now: its range
	// [rev, stale_since) holds one, so it ends after the lowest and starts
	// at or before the highest (the stale index's order).
	var lo, hi *int64
	if err := tx.queryRow(ctx, `SELECT MIN(rev), MAX(rev) FROM subject_map_revisions WHERE rev < ? AND NOT `+cond, byOldest...).Scan(&lo, &hi); err != nil {
		return unavailable("pruning subject map", err)
	}
	if lo == nil {
		return nil // nothing to prune
	}
	// Revisions first: the nodes' test below reads the ones that stay.
	for _, q := range []string{
		`DELETE FROM subject_map_cosignatures WHERE rev < ? AND NOT ` + cond,
		`DELETE FROM subject_map_revisions WHERE rev < ? AND NOT ` + cond,
	} {
		if _, err := tx.exec(ctx, q, byOldest...); err != nil {
			return unavailable("pruning subject map", err)
		}
	}
	const unreachable = `st.stale_since > ? AND st.rev <= ? AND NOT EXISTS (SELECT 1 FROM subject_map_revisions k WHERE k.rev >= st.rev AND k.rev < st.stale_since)`
	for _, q := range []string{
		`DELETE FROM subject_map_nodes WHERE (id, rev) IN (SELECT st.id, st.rev FROM subject_map_stale st WHERE ` + unreachable + `)`,
		`DELETE FROM subject_map_stale WHERE (stale_since, id, rev) IN (SELECT st.stale_since, st.id, st.rev FROM subject_map_stale st WHERE ` + unreachable + `)`,
	} {
		if _, err := tx.exec(ctx, q, *lo, *hi); err != nil {
			return unavailable("pruning subject map", err)
		}
	}
	return nil
}

// pruneBelow keeps the revisions from oldest on (contiguous): the rows
// replaced at or before oldest go, and the revisions before it with their
// cosignatures.
func pruneBelow(ctx context.Context, tx conn, oldest int64) error {
	for _, q := range []string{
		`DELETE FROM subject_map_nodes WHERE (id, rev) IN (SELECT id, rev FROM subject_map_stale WHERE stale_since <= ?)`,
		`DELETE FROM subject_map_stale WHERE stale_since <= ?`,
		`DELETE FROM subject_map_cosignatures WHERE rev < ?`,
		`DELETE FROM subject_map_revisions WHERE rev < ?`,
	} {
		if _, err := tx.exec(ctx, q, oldest); err != nil {
			return unavailable("pruning subject map", err)
		}
	}
	return nil
}

// AddSubjectCosignatures stores cs, witness cosignatures of stored
// revisions' subject checkpoints, in one transaction and returns how many
// were new: one already stored for the same revision and key (name and
// hash) is left as it is. It fails with ErrNotFound if a revision of cs is
// not (or no longer) stored, and with ErrInvalid for a malformed
// cosignature; either way nothing is written. On PostgreSQL the revisions'
// rows are locked FOR KEY SHARE, so a concurrent prune waits for the
// transaction or has already removed them (ErrNotFound).
func (s *ops) AddSubjectCosignatures(ctx context.Context, cs []SubjectCosignature) (int, error) {
	if err := validCosignatures(cs); err != nil || len(cs) == 0 {
		return 0, err
	}
	var added int
	err := s.d.transact(ctx, "storing subject map cosignatures", func(tx conn) error {
		added = 0
		for _, rev := range cosignatureRevs(cs) {
			if err := revisionStored(tx.queryRow(ctx, `SELECT 1 FROM subject_map_revisions WHERE rev = ?`+s.d.rowLock(" FOR KEY SHARE"), int64(rev)), rev); err != nil {
				return err
			}
		}
		for _, c := range cs {
			n, err := tx.exec(ctx, `INSERT INTO subject_map_cosignatures (rev, key_name, key_hash, sig) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				int64(c.Rev), c.Name, int64(c.Hash), c.Sig)
			if err != nil {
				return unavailable("storing subject map cosignature", err)
			}
			added += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// SubjectCosignatures returns the stored witness cosignatures of the given
// revisions, ordered by revision, key name (bytewise: SQLite's BINARY
// collation, PostgreSQL's "C") and key hash; a revision not stored has none.
func (s *ops) SubjectCosignatures(ctx context.Context, revs []uint64) ([]SubjectCosignature, error) {
	if err := checkCosignatureRevs(revs); err != nil {
		return nil, err
	}
	var out []SubjectCosignature
	for len(revs) > 0 {
		chunk := revs[:min(len(revs), subjectMapChunk)]
		revs = revs[len(chunk):]
		ids := make([]int64, len(chunk))
		for i, r := range chunk {
			ids[i] = int64(r)
		}
		cond, args := anyOf(s.d, "rev", ids)
		cs, err := readSubjectCosignatures(s.d.reader().query(ctx, `SELECT rev, key_name, key_hash, sig FROM subject_map_cosignatures WHERE `+cond+
			` ORDER BY rev, key_name COLLATE `+s.d.bytewise()+`, key_hash`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}
