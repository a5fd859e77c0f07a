package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// LogID names one of a node's two append-only logs.
type LogID string

// The logs a node keeps.
const (
	LogInquiry  LogID = "inquiry"  // the provider's inquiry log
	LogOutbound LogID = "outbound" // the requester's outbound log
)

// table is the leaf table of l; it never comes from caller input.
func (l LogID) table() (string, error) {
	switch l {
	case LogInquiry:
		return inquiryLog, nil
	case LogOutbound:
		return outboundLog, nil
	}
	return "", invalid("unknown log %q", string(l))
}

// ErrCheckpointConflict is returned by ExtendTree when a different checkpoint
// of the same size is already stored: publishing it would be a split view.
// Nothing is written.
var ErrCheckpointConflict = errors.New("store: a different checkpoint of that size exists")

// ErrTreeCorrupt is returned when the stored tree disagrees with itself or
// with the leaves: a gap in the leaf indexes past the tree's size, or a
// stored compact range of the wrong length. It means the database was edited
// outside the node.
var ErrTreeCorrupt = errors.New("store: log tree is inconsistent with its leaves")

// HashSize is the size of every tree hash (SHA-256).
const HashSize = 32

// TreeNode is one stored hash of a log's Merkle tree: the root of the perfect
// subtree over leaves [Index<<Level, (Index+1)<<Level).
type TreeNode struct {
	Level uint
	Index uint64
	Hash  []byte
}

// TreeState is how far a log's Merkle tree has been built: it covers leaves
// [0, Size), and Range is the compact range of those leaves (the roots of the
// perfect subtrees of the decomposition of [0, Size), left to right).
type TreeState struct {
	Size  uint64
	Range [][]byte
}

// Checkpoint is a signed tree head as stored: the size and root it commits
// to and the signed note text.
type Checkpoint struct {
	Size        uint64
	Root        []byte
	Note        []byte
	PublishedAt time.Time
}

// TreeUpdate is what an extension writes: the new state, the new nodes to
// store, and optionally a checkpoint of the new state to publish in the same
// transaction.
type TreeUpdate struct {
	State      TreeState
	Nodes      []TreeNode
	Checkpoint *Checkpoint
}

// BatchItem is one write of a group commit: either a Commit (an answered
// query; inquiry log only) or a bare Leaf (a denial, or an outbound entry).
// Exactly one of the two is set.
type BatchItem struct {
	Commit *Commit
	Leaf   *Leaf
}

// validateBatch checks each item of an AppendBatch on log, setting the
// result's Err of every invalid one, and counts the valid ones.
func validateBatch(log LogID, items []BatchItem) ([]BatchResult, int) {
	res := make([]BatchResult, len(items))
	valid := 0
	for i, it := range items {
		switch {
		case (it.Commit == nil) == (it.Leaf == nil):
			res[i].Err = invalid("batch item %d: want exactly one of Commit and Leaf", i)
		case it.Commit != nil && log != LogInquiry:
			res[i].Err = invalid("batch item %d: commits go to the inquiry log only", i)
		case it.Commit != nil:
			res[i].Err = it.Commit.validate()
		default:
			res[i].Err = it.Leaf.validate()
		}
		if res[i].Err == nil {
			valid++
		}
	}
	return res, valid
}

// readNewLeafHashes reads the (idx, leaf_hash) rows of table from size on,
// failing with ErrTreeCorrupt at the first gap.
func readNewLeafHashes(rows rowIter, err error, table string, size uint64) ([][]byte, error) {
	type row struct {
		idx  int64
		hash []byte
	}
	var hashes [][]byte
	err = eachRow(rows, err, "reading "+table, func(r rowScanner) (row, error) {
		var v row
		err := r.Scan(&v.idx, &v.hash)
		return v, err
	}, func(v row) error {
		if uint64(v.idx) != size+uint64(len(hashes)) {
			return fmt.Errorf("%w: %s has index %d where %d was expected", ErrTreeCorrupt, table, v.idx, size+uint64(len(hashes)))
		}
		hashes = append(hashes, v.hash)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return hashes, nil
}

// checkExtension checks what extend returned for st and n new leaves: with
// no new leaves at most a checkpoint of st, else a state of the new size.
func checkExtension(st TreeState, n int, up *TreeUpdate) error {
	if n == 0 {
		if up.Checkpoint != nil && up.Checkpoint.Size != st.Size {
			return invalid("checkpoint of size %d for a tree of size %d", up.Checkpoint.Size, st.Size)
		}
		return nil
	}
	if up.State.Size != st.Size+uint64(n) {
		return invalid("extension to size %d, want %d", up.State.Size, st.Size+uint64(n))
	}
	return nil
}

// packRange is a compact range as stored: its hashes end to end.
func packRange(rng [][]byte) ([]byte, error) {
	out := make([]byte, 0, HashSize*len(rng))
	for _, h := range rng {
		if len(h) != HashSize {
			return nil, invalid("compact range hash of %d bytes", len(h))
		}
		out = append(out, h...)
	}
	return out, nil
}

// scanTreeState reads the (size, range) row of a log's tree state; no row
// is the empty tree.
func scanTreeState(row rowScanner) (TreeState, error) {
	var size int64
	var rng []byte
	err := row.Scan(&size, &rng)
	switch {
	case isNoRows(err):
		return TreeState{}, nil
	case err != nil:
		return TreeState{}, unavailable("reading tree state", err)
	}
	if len(rng)%HashSize != 0 {
		return TreeState{}, fmt.Errorf("%w: compact range of %d bytes", ErrTreeCorrupt, len(rng))
	}
	st := TreeState{Size: uint64(size)}
	for i := 0; i < len(rng); i += HashSize {
		st.Range = append(st.Range, rng[i:i+HashSize:i+HashSize])
	}
	return st, nil
}

func (cp *Checkpoint) validate() error {
	if len(cp.Root) != HashSize || len(cp.Note) == 0 || cp.PublishedAt.IsZero() {
		return invalid("checkpoint of size %d: root, note and time are required", cp.Size)
	}
	return nil
}

// checkpointStored reads row, the root of a stored checkpoint of cp's size,
// and reports whether cp is already published; a different root is
// ErrCheckpointConflict.
func checkpointStored(row rowScanner, log LogID, cp *Checkpoint) (bool, error) {
	var old []byte
	err := row.Scan(&old)
	switch {
	case err == nil:
		if !bytes.Equal(old, cp.Root) {
			return false, fmt.Errorf("%w: %s log size %d", ErrCheckpointConflict, log, cp.Size)
		}
		return true, nil
	case !isNoRows(err):
		return false, unavailable("reading checkpoints", err)
	}
	return false, nil
}

// checkNodeRange checks a TreeNodes range.
func checkNodeRange(level uint, from, to uint64) error {
	if from > to || to > 1<<63-1 || level >= 64 {
		return invalid("tree node range %d:[%d, %d)", level, from, to)
	}
	return nil
}

func scanHash(row rowScanner) ([]byte, error) {
	var h []byte
	err := row.Scan(&h)
	return h, err
}

// readNodeHashes reads the hashes TreeNodes asked for, failing with
// ErrNotFound if any is missing.
func readNodeHashes(rows rowIter, err error, log LogID, level uint, from, to uint64) ([][]byte, error) {
	out := make([][]byte, 0, to-from)
	if err := eachRow(rows, err, "reading tree nodes", scanHash, func(h []byte) error {
		out = append(out, h)
		return nil
	}); err != nil {
		return nil, err
	}
	if uint64(len(out)) != to-from {
		return nil, fmt.Errorf("%w: %s tree nodes %d:[%d, %d): %d stored", ErrNotFound, log, level, from, to, len(out))
	}
	return out, nil
}

// eachTreeNode calls fn for every (idx, hash) row of rows, nodes at level.
func eachTreeNode(rows rowIter, err error, level uint, fn func(TreeNode) error) error {
	return eachRow(rows, err, "reading tree nodes", func(row rowScanner) (TreeNode, error) {
		var idx int64
		n := TreeNode{Level: level}
		err := row.Scan(&idx, &n.Hash)
		n.Index = uint64(idx)
		return n, err
	}, fn)
}

// leafColumns are the columns scanStoredLeaf reads, in its order.
const leafColumns = `idx, subject, time, entry, salt, leaf_hash`

// scanStoredLeaf reads one row of leafColumns.
func scanStoredLeaf(row rowScanner) (StoredLeaf, error) {
	var sl StoredLeaf
	var idx, t int64
	if err := row.Scan(&idx, &sl.Subject, &t, &sl.Entry, &sl.Salt, &sl.LeafHash); err != nil {
		return StoredLeaf{}, err
	}
	sl.Index, sl.Time = uint64(idx), unixTime(t)
	return sl, nil
}

// scanCheckpoint reads (size, root, note, published_at).
func scanCheckpoint(row rowScanner) (Checkpoint, error) {
	var cp Checkpoint
	var size, t int64
	if err := row.Scan(&size, &cp.Root, &cp.Note, &t); err != nil {
		return Checkpoint{}, err
	}
	cp.Size, cp.PublishedAt = uint64(size), unixTime(t)
	return cp, nil
}

func readCheckpoints(rows rowIter, err error) ([]Checkpoint, error) {
	return collect(rows, err, "reading checkpoints", scanCheckpoint)
}

// latestCheckpoint is the one checkpoint a LatestCheckpoint query read, or
// ErrNotFound.
func latestCheckpoint(log LogID, cps []Checkpoint, err error) (Checkpoint, error) {
	if err != nil {
		return Checkpoint{}, err
	}
	if len(cps) == 0 {
		return Checkpoint{}, fmt.Errorf("%w: no %s checkpoint", ErrNotFound, log)
	}
	return cps[0], nil
}

// appendItems writes the valid items of a batch (res[i].Err nil) in order:
// a commit with commit, whose refusal fails it alone (settle), a bare leaf
// with appendLeaf, which returns the leaf's index. Any other error fails the
// batch and is returned.
func appendItems(items []BatchItem, res []BatchResult, commit func(*Commit) (Appended, error), appendLeaf func(*Leaf) (uint64, error)) error {
	for i, it := range items {
		if res[i].Err != nil {
			continue
		}
		if it.Commit != nil {
			a, err := commit(it.Commit)
			if err := settle(&res[i], a, err); err != nil {
				return err
			}
			continue
		}
		idx, err := appendLeaf(it.Leaf)
		if err != nil {
			return err
		}
		res[i].Appended = Appended{Index: idx, LeafHash: it.Leaf.LeafHash}
	}
	return nil
}

// runExtension calls extend with st and the leaf hashes read after it,
// checks what it returned (checkExtension) and stores it: with no new leaves
// at most a checkpoint of st (addCheckpoint), else the update (write). It
// returns the state after.
func runExtension(st TreeState, hashes [][]byte, extend func(st TreeState, leafHashes [][]byte) (TreeUpdate, error),
	addCheckpoint func(*Checkpoint) error, write func(*TreeUpdate) error) (TreeState, error) {
	up, err := extend(st, hashes)
	if err != nil {
		return TreeState{}, err
	}
	if err := checkExtension(st, len(hashes), &up); err != nil {
		return TreeState{}, err
	}
	if len(hashes) == 0 {
		// Nothing new: at most a checkpoint of the current state.
		if up.Checkpoint == nil {
			return st, nil
		}
		return st, addCheckpoint(up.Checkpoint)
	}
	if err := write(&up); err != nil {
		return TreeState{}, err
	}
	return up.State, nil
}

// treeLockSQL takes, on PostgreSQL, the transaction-scoped advisory lock
// that serialises the extensions of one log's tree within the current
// schema: what SQLite gets from its single write transaction. Appends do not
// take it; they are serialised by the log's head row (dialect.nextIndex), so
// the committed leaves an extension reads are always a dense prefix of the
// log.
const treeLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ' tree ' || ?, 0))`

// AppendBatch writes items to log in one transaction: one fsync for the
// batch. Commits behave exactly as in CommitBatch (a refused commit fails on
// its own, in its BatchResult.Err); a bare leaf gets the next index. Items are
// applied in slice order, so indexes follow it. A database failure fails the
// whole batch with an error wrapping ErrUnavailable and nothing is written.
// Results are durable when AppendBatch returns.
func (s *ops) AppendBatch(ctx context.Context, log LogID, items []BatchItem) ([]BatchResult, error) {
	table, err := log.table()
	if err != nil {
		return nil, err
	}
	res, valid := validateBatch(log, items)
	if valid == 0 {
		return res, nil
	}
	err = s.d.transact(ctx, "appending batch to "+table, func(tx conn) error {
		return appendItems(items, res, func(c *Commit) (Appended, error) {
			return s.commitSavepoint(ctx, tx, c)
		}, func(l *Leaf) (uint64, error) {
			return s.appendLeafTx(ctx, tx, table, l)
		})
	})
	if err != nil {
		// Results of a failed batch are void: nothing was written.
		return nil, err
	}
	return res, nil
}

// ExtendTree integrates up to maxLeaves leaves appended to log since the
// tree's current size, in one write transaction: it reads the tree state and
// the new leaf hashes, calls extend, and stores what extend returns (nodes,
// new state, optional checkpoint). When there is nothing new extend is still
// called, with no leaf hashes, and may return just a checkpoint of the
// current state (or a zero TreeUpdate: nothing is written). A checkpoint is
// stored in the same transaction as the state it signs; a different one of
// the same size fails with ErrCheckpointConflict. It returns the state after
// the call. Several processes may call ExtendTree on one database: the write
// transaction (SQLite) or the log's tree lock (PostgreSQL) serialises them.
func (s *ops) ExtendTree(ctx context.Context, log LogID, maxLeaves int, extend func(st TreeState, leafHashes [][]byte) (TreeUpdate, error)) (TreeState, error) {
	table, err := log.table()
	if err != nil {
		return TreeState{}, err
	}
	if maxLeaves < 1 {
		return TreeState{}, invalid("maxLeaves %d", maxLeaves)
	}
	var out TreeState
	err = s.d.transact(ctx, "extending "+string(log)+" tree", func(tx conn) error {
		if err := s.d.serialise(ctx, tx, "locking "+string(log)+" tree", treeLockSQL, string(log)); err != nil {
			return err
		}
		st, err := readTreeState(ctx, tx, log)
		if err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT idx, leaf_hash FROM `+table+` WHERE idx >= ? ORDER BY idx LIMIT ?`, int64(st.Size), maxLeaves)
		hashes, err := readNewLeafHashes(rows, err, table, st.Size)
		if err != nil {
			return err
		}
		out, err = runExtension(st, hashes, extend, func(cp *Checkpoint) error {
			return addCheckpoint(ctx, tx, log, cp)
		}, func(up *TreeUpdate) error {
			return s.writeTreeUpdate(ctx, tx, log, up)
		})
		return err
	})
	if err != nil {
		return TreeState{}, err
	}
	return out, nil
}

func (s *ops) writeTreeUpdate(ctx context.Context, tx conn, log LogID, up *TreeUpdate) error {
	for _, n := range up.Nodes {
		if len(n.Hash) != HashSize || n.Level >= 64 || n.Index > 1<<63-1 {
			return invalid("tree node (%d, %d)", n.Level, n.Index)
		}
	}
	if err := s.d.insertRows(ctx, tx, "storing tree nodes", "log_tree_nodes", []string{"log", "level", "idx", "hash"}, len(up.Nodes), func(i int) []any {
		n := &up.Nodes[i]
		return []any{string(log), int64(n.Level), int64(n.Index), n.Hash}
	}); err != nil {
		return err
	}
	rng, err := packRange(up.State.Range)
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO log_tree_state (log, size, "range") VALUES (?, ?, ?)
		ON CONFLICT (log) DO UPDATE SET size = excluded.size, "range" = excluded."range"`,
		string(log), int64(up.State.Size), rng); err != nil {
		return unavailable("storing tree state", err)
	}
	if up.Checkpoint != nil {
		return addCheckpoint(ctx, tx, log, up.Checkpoint)
	}
	return nil
}

func addCheckpoint(ctx context.Context, tx conn, log LogID, cp *Checkpoint) error {
	if err := cp.validate(); err != nil {
		return err
	}
	if done, err := checkpointStored(tx.queryRow(ctx, `SELECT root FROM log_checkpoints WHERE log = ? AND size = ?`, string(log), int64(cp.Size)), log, cp); err != nil || done {
		return err // nil: already published
	}
	if _, err := tx.exec(ctx, `INSERT INTO log_checkpoints (log, size, root, note, published_at) VALUES (?, ?, ?, ?, ?)`,
		string(log), int64(cp.Size), cp.Root, cp.Note, cp.PublishedAt.UnixNano()); err != nil {
		return unavailable("storing checkpoint", err)
	}
	return nil
}

func readTreeState(ctx context.Context, c conn, log LogID) (TreeState, error) {
	return scanTreeState(c.queryRow(ctx, `SELECT size, "range" FROM log_tree_state WHERE log = ?`, string(log)))
}

// TreeState returns how far log's tree has been built.
func (s *ops) TreeState(ctx context.Context, log LogID) (TreeState, error) {
	if _, err := log.table(); err != nil {
		return TreeState{}, err
	}
	return readTreeState(ctx, s.d.reader(), log)
}

// TreeNodes returns the stored hashes of log's tree at level for indexes
// [from, to), in order. It fails with ErrNotFound if any is missing (beyond
// the tree's size, or at a level that is not stored) and ErrInvalid if
// from > to.
func (s *ops) TreeNodes(ctx context.Context, log LogID, level uint, from, to uint64) ([][]byte, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	if err := checkNodeRange(level, from, to); err != nil {
		return nil, err
	}
	if from == to {
		return nil, nil
	}
	rows, err := s.d.reader().query(ctx, `SELECT hash FROM log_tree_nodes WHERE log = ? AND level = ? AND idx >= ? AND idx < ? ORDER BY idx`,
		string(log), int64(level), int64(from), int64(to))
	return readNodeHashes(rows, err, log, level, from, to)
}

// ScanTreeNodes calls fn for every stored node of log's tree at level, in
// index order, stopping at fn's first error. For offline verification.
func (s *ops) ScanTreeNodes(ctx context.Context, log LogID, level uint, fn func(TreeNode) error) error {
	if _, err := log.table(); err != nil {
		return err
	}
	if level >= 64 {
		return invalid("tree level %d", level)
	}
	rows, err := s.d.reader().query(ctx, `SELECT idx, hash FROM log_tree_nodes WHERE log = ? AND level = ? ORDER BY idx`, string(log), int64(level))
	return eachTreeNode(rows, err, level, fn)
}

// ScanLeaves calls fn for every row of log's leaf table in index order,
// exactly as stored (gaps included: it does not assume the table is intact),
// stopping at fn's first error. For offline verification.
func (s *ops) ScanLeaves(ctx context.Context, log LogID, fn func(StoredLeaf) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := s.d.reader().query(ctx, `SELECT `+leafColumns+` FROM `+table+` ORDER BY idx`)
	return eachRow(rows, err, "reading "+table, scanStoredLeaf, fn)
}

// LatestCheckpoint returns log's largest published checkpoint, or
// ErrNotFound if none has been published.
func (s *ops) LatestCheckpoint(ctx context.Context, log LogID) (Checkpoint, error) {
	cps, err := s.checkpoints(ctx, log, `ORDER BY size DESC LIMIT 1`)
	return latestCheckpoint(log, cps, err)
}

// Checkpoints returns every checkpoint published for log, by size.
func (s *ops) Checkpoints(ctx context.Context, log LogID) ([]Checkpoint, error) {
	return s.checkpoints(ctx, log, `ORDER BY size`)
}

func (s *ops) checkpoints(ctx context.Context, log LogID, tail string) ([]Checkpoint, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	return readCheckpoints(s.d.reader().query(ctx, `SELECT size, root, note, published_at FROM log_checkpoints WHERE log = ? `+tail, string(log)))
}

// LogSize is the number of leaves in log (one past its largest index).
func (s *ops) LogSize(ctx context.Context, log LogID) (uint64, error) {
	table, err := log.table()
	if err != nil {
		return 0, err
	}
	return s.logSize(ctx, table)
}
