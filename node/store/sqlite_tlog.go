package store

import (
	"bytes"
	"context"
	"database/sql"
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

// AppendBatch writes items to log in one transaction: one fsync for the
// batch. Commits behave exactly as in CommitBatch (a refused commit fails on
// its own, in its BatchResult.Err); a bare leaf gets the next index. Items are
// applied in slice order, so indexes follow it. A database failure fails the
// whole batch with an error wrapping ErrUnavailable and nothing is written.
// Results are durable when AppendBatch returns.
func (s *SQLite) AppendBatch(ctx context.Context, log LogID, items []BatchItem) ([]BatchResult, error) {
	table, err := log.table()
	if err != nil {
		return nil, err
	}
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
	if valid == 0 {
		return res, nil
	}
	err = s.inWriteTx(ctx, "appending batch to "+table, func(tx *sql.Tx) error {
		for i, it := range items {
			if res[i].Err != nil {
				continue
			}
			if it.Commit != nil {
				a, err := commitSavepoint(ctx, tx, it.Commit)
				switch {
				case err == nil:
					res[i].Appended = a
				case isCommitRefusal(err):
					res[i].Err = err
				default:
					return err
				}
				continue
			}
			idx, err := nextIndex(ctx, tx, table)
			if err != nil {
				return err
			}
			if err := insertLeaf(ctx, tx, table, idx, it.Leaf); err != nil {
				return err
			}
			res[i].Appended = Appended{Index: idx, LeafHash: it.Leaf.LeafHash}
		}
		return nil
	})
	if err != nil {
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
// the call. Several processes may
// call ExtendTree on one database: the write transaction serialises them.
func (s *SQLite) ExtendTree(ctx context.Context, log LogID, maxLeaves int, extend func(st TreeState, leafHashes [][]byte) (TreeUpdate, error)) (TreeState, error) {
	table, err := log.table()
	if err != nil {
		return TreeState{}, err
	}
	if maxLeaves < 1 {
		return TreeState{}, invalid("maxLeaves %d", maxLeaves)
	}
	var out TreeState
	err = s.inWriteTx(ctx, "extending "+string(log)+" tree", func(tx *sql.Tx) error {
		st, err := readTreeState(ctx, tx, log)
		if err != nil {
			return err
		}
		out = st
		rows, err := tx.QueryContext(ctx, `SELECT idx, leaf_hash FROM `+table+` WHERE idx >= ? ORDER BY idx LIMIT ?`, int64(st.Size), maxLeaves)
		if err != nil {
			return unavailable("reading "+table, err)
		}
		var hashes [][]byte
		for rows.Next() {
			var idx int64
			var h []byte
			if err := rows.Scan(&idx, &h); err != nil {
				rows.Close()
				return unavailable("reading "+table, err)
			}
			if uint64(idx) != st.Size+uint64(len(hashes)) {
				rows.Close()
				return fmt.Errorf("%w: %s has index %d where %d was expected", ErrTreeCorrupt, table, idx, st.Size+uint64(len(hashes)))
			}
			hashes = append(hashes, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable("reading "+table, err)
		}
		up, err := extend(st, hashes)
		if err != nil {
			return err
		}
		if len(hashes) == 0 {
			// Nothing new: at most a checkpoint of the current state.
			if up.Checkpoint == nil {
				return nil
			}
			if up.Checkpoint.Size != st.Size {
				return invalid("checkpoint of size %d for a tree of size %d", up.Checkpoint.Size, st.Size)
			}
			return addCheckpoint(ctx, tx, log, up.Checkpoint)
		}
		if up.State.Size != st.Size+uint64(len(hashes)) {
			return invalid("extension to size %d, want %d", up.State.Size, st.Size+uint64(len(hashes)))
		}
		if err := writeTreeUpdate(ctx, tx, log, &up); err != nil {
			return err
		}
		out = up.State
		return nil
	})
	if err != nil {
		return TreeState{}, err
	}
	return out, nil
}

func writeTreeUpdate(ctx context.Context, tx *sql.Tx, log LogID, up *TreeUpdate) error {
	for _, n := range up.Nodes {
		if len(n.Hash) != HashSize || n.Level >= 64 {
			return invalid("tree node (%d, %d)", n.Level, n.Index)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_tree_nodes (log, level, idx, hash) VALUES (?, ?, ?, ?)`,
			string(log), int64(n.Level), int64(n.Index), n.Hash); err != nil {
			return unavailable("storing tree node", err)
		}
	}
	rng := make([]byte, 0, HashSize*len(up.State.Range))
	for _, h := range up.State.Range {
		if len(h) != HashSize {
			return invalid("compact range hash of %d bytes", len(h))
		}
		rng = append(rng, h...)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO log_tree_state (log, size, range) VALUES (?, ?, ?)
		ON CONFLICT (log) DO UPDATE SET size = excluded.size, range = excluded.range`,
		string(log), int64(up.State.Size), rng); err != nil {
		return unavailable("storing tree state", err)
	}
	if up.Checkpoint != nil {
		return addCheckpoint(ctx, tx, log, up.Checkpoint)
	}
	return nil
}

func addCheckpoint(ctx context.Context, tx *sql.Tx, log LogID, cp *Checkpoint) error {
	if len(cp.Root) != HashSize || len(cp.Note) == 0 || cp.PublishedAt.IsZero() {
		return invalid("checkpoint of size %d: root, note and time are required", cp.Size)
	}
	var old []byte
	err := tx.QueryRowContext(ctx, `SELECT root FROM log_checkpoints WHERE log = ? AND size = ?`, string(log), int64(cp.Size)).Scan(&old)
	switch {
	case err == nil:
		if !bytes.Equal(old, cp.Root) {
			return fmt.Errorf("%w: %s log size %d", ErrCheckpointConflict, log, cp.Size)
		}
		return nil // already published
	case !errors.Is(err, sql.ErrNoRows):
		return unavailable("reading checkpoints", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO log_checkpoints (log, size, root, note, published_at) VALUES (?, ?, ?, ?, ?)`,
		string(log), int64(cp.Size), cp.Root, cp.Note, cp.PublishedAt.UnixNano()); err != nil {
		return unavailable("storing checkpoint", err)
	}
	return nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readTreeState(ctx context.Context, q queryRower, log LogID) (TreeState, error) {
	var size int64
	var rng []byte
	err := q.QueryRowContext(ctx, `SELECT size, range FROM log_tree_state WHERE log = ?`, string(log)).Scan(&size, &rng)
	switch {
	case errors.Is(err, sql.ErrNoRows):
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

// TreeState returns how far log's tree has been built.
func (s *SQLite) TreeState(ctx context.Context, log LogID) (TreeState, error) {
	if _, err := log.table(); err != nil {
		return TreeState{}, err
	}
	return readTreeState(ctx, s.r, log)
}

// TreeNodes returns the stored hashes of log's tree at level for indexes
// [from, to), in order. It fails with ErrNotFound if any is missing (beyond
// the tree's size, or at a level that is not stored) and ErrInvalid if
// from > to.
func (s *SQLite) TreeNodes(ctx context.Context, log LogID, level uint, from, to uint64) ([][]byte, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	if from > to || to > 1<<63-1 || level >= 64 {
		return nil, invalid("tree node range %d:[%d, %d)", level, from, to)
	}
	if from == to {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT hash FROM log_tree_nodes WHERE log = ? AND level = ? AND idx >= ? AND idx < ? ORDER BY idx`,
		string(log), int64(level), int64(from), int64(to))
	if err != nil {
		return nil, unavailable("reading tree nodes", err)
	}
	defer rows.Close()
	out := make([][]byte, 0, to-from)
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, unavailable("reading tree nodes", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("reading tree nodes", err)
	}
	if uint64(len(out)) != to-from {
		return nil, fmt.Errorf("%w: %s tree nodes %d:[%d, %d): %d stored", ErrNotFound, log, level, from, to, len(out))
	}
	return out, nil
}

// ScanTreeNodes calls fn for every stored node of log's tree at level, in
// index order, stopping at fn's first error. For offline verification.
func (s *SQLite) ScanTreeNodes(ctx context.Context, log LogID, level uint, fn func(TreeNode) error) error {
	if _, err := log.table(); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT idx, hash FROM log_tree_nodes WHERE log = ? AND level = ? ORDER BY idx`, string(log), int64(level))
	if err != nil {
		return unavailable("reading tree nodes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		n := TreeNode{Level: level}
		if err := rows.Scan(&idx, &n.Hash); err != nil {
			return unavailable("reading tree nodes", err)
		}
		n.Index = uint64(idx)
		if err := fn(n); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable("reading tree nodes", err)
	}
	return nil
}

// ScanLeaves calls fn for every row of log's leaf table in index order,
// exactly as stored (gaps included: it does not assume the table is intact),
// stopping at fn's first error. For offline verification.
func (s *SQLite) ScanLeaves(ctx context.Context, log LogID, fn func(StoredLeaf) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT idx, subject, time, entry, salt, leaf_hash FROM `+table+` ORDER BY idx`)
	if err != nil {
		return unavailable("reading "+table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var sl StoredLeaf
		var idx, t int64
		if err := rows.Scan(&idx, &sl.Subject, &t, &sl.Entry, &sl.Salt, &sl.LeafHash); err != nil {
			return unavailable("reading "+table, err)
		}
		sl.Index = uint64(idx)
		sl.Time = time.Unix(0, t).UTC()
		if err := fn(sl); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable("reading "+table, err)
	}
	return nil
}

// LatestCheckpoint returns log's largest published checkpoint, or
// ErrNotFound if none has been published.
func (s *SQLite) LatestCheckpoint(ctx context.Context, log LogID) (Checkpoint, error) {
	cps, err := s.checkpoints(ctx, log, `ORDER BY size DESC LIMIT 1`)
	if err != nil {
		return Checkpoint{}, err
	}
	if len(cps) == 0 {
		return Checkpoint{}, fmt.Errorf("%w: no %s checkpoint", ErrNotFound, log)
	}
	return cps[0], nil
}

// Checkpoints returns every checkpoint published for log, by size.
func (s *SQLite) Checkpoints(ctx context.Context, log LogID) ([]Checkpoint, error) {
	return s.checkpoints(ctx, log, `ORDER BY size`)
}

func (s *SQLite) checkpoints(ctx context.Context, log LogID, tail string) ([]Checkpoint, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT size, root, note, published_at FROM log_checkpoints WHERE log = ? `+tail, string(log))
	if err != nil {
		return nil, unavailable("reading checkpoints", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var cp Checkpoint
		var size, t int64
		if err := rows.Scan(&size, &cp.Root, &cp.Note, &t); err != nil {
			return nil, unavailable("reading checkpoints", err)
		}
		cp.Size = uint64(size)
		cp.PublishedAt = time.Unix(0, t).UTC()
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("reading checkpoints", err)
	}
	return out, nil
}

// LogSize is the number of leaves in log (one past its largest index).
func (s *SQLite) LogSize(ctx context.Context, log LogID) (uint64, error) {
	table, err := log.table()
	if err != nil {
		return 0, err
	}
	return s.logSize(ctx, table)
}
