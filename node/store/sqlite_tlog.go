package store

import (
	"context"
	"database/sql"
)

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
	res, valid := validateBatch(log, items)
	if valid == 0 {
		return res, nil
	}
	err = s.inWriteTx(ctx, "appending batch to "+table, func(tx *sql.Tx) error {
		return appendItems(items, res, func(c *Commit) (Appended, error) {
			return commitSavepoint(ctx, tx, c)
		}, func(l *Leaf) (uint64, error) {
			idx, err := nextIndex(ctx, tx, table)
			if err != nil {
				return 0, err
			}
			return idx, insertLeaf(ctx, tx, table, idx, l)
		})
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
		rows, err := sqlRows(tx.QueryContext(ctx, `SELECT idx, leaf_hash FROM `+table+` WHERE idx >= ? ORDER BY idx LIMIT ?`, int64(st.Size), maxLeaves))
		hashes, err := readNewLeafHashes(rows, err, table, st.Size)
		if err != nil {
			return err
		}
		out, err = runExtension(st, hashes, extend, func(cp *Checkpoint) error {
			return addCheckpoint(ctx, tx, log, cp)
		}, func(up *TreeUpdate) error {
			return writeTreeUpdate(ctx, tx, log, up)
		})
		return err
	})
	if err != nil {
		return TreeState{}, err
	}
	return out, nil
}

func writeTreeUpdate(ctx context.Context, tx *sql.Tx, log LogID, up *TreeUpdate) error {
	for _, n := range up.Nodes {
		// Unlike PostgreSQL's, this check lets an Index past 1<<63-1
		// through (stored wrapped to a negative idx): kept as it was.
		if len(n.Hash) != HashSize || n.Level >= 64 {
			return invalid("tree node (%d, %d)", n.Level, n.Index)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_tree_nodes (log, level, idx, hash) VALUES (?, ?, ?, ?)`,
			string(log), int64(n.Level), int64(n.Index), n.Hash); err != nil {
			return unavailable("storing tree node", err)
		}
	}
	rng, err := packRange(up.State.Range)
	if err != nil {
		return err
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
	if err := cp.validate(); err != nil {
		return err
	}
	if done, err := checkpointStored(tx.QueryRowContext(ctx, `SELECT root FROM log_checkpoints WHERE log = ? AND size = ?`, string(log), int64(cp.Size)), log, cp); err != nil || done {
		return err // nil: already published
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
	return scanTreeState(q.QueryRowContext(ctx, `SELECT size, range FROM log_tree_state WHERE log = ?`, string(log)))
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
	if err := checkNodeRange(level, from, to); err != nil {
		return nil, err
	}
	if from == to {
		return nil, nil
	}
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT hash FROM log_tree_nodes WHERE log = ? AND level = ? AND idx >= ? AND idx < ? ORDER BY idx`,
		string(log), int64(level), int64(from), int64(to)))
	return readNodeHashes(rows, err, log, level, from, to)
}

// ScanTreeNodes calls fn for every stored node of log's tree at level, in
// index order, stopping at fn's first error. For offline verification.
func (s *SQLite) ScanTreeNodes(ctx context.Context, log LogID, level uint, fn func(TreeNode) error) error {
	if _, err := log.table(); err != nil {
		return err
	}
	// Unlike PostgreSQL's, no check of level here (a level >= 64 wraps in
	// int64 and finds nothing): kept as it was.
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT idx, hash FROM log_tree_nodes WHERE log = ? AND level = ? ORDER BY idx`, string(log), int64(level)))
	return eachTreeNode(rows, err, level, fn)
}

// ScanLeaves calls fn for every row of log's leaf table in index order,
// exactly as stored (gaps included: it does not assume the table is intact),
// stopping at fn's first error. For offline verification.
func (s *SQLite) ScanLeaves(ctx context.Context, log LogID, fn func(StoredLeaf) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT `+leafColumns+` FROM `+table+` ORDER BY idx`))
	return eachRow(rows, err, "reading "+table, scanStoredLeaf, fn)
}

// LatestCheckpoint returns log's largest published checkpoint, or
// ErrNotFound if none has been published.
func (s *SQLite) LatestCheckpoint(ctx context.Context, log LogID) (Checkpoint, error) {
	cps, err := s.checkpoints(ctx, log, `ORDER BY size DESC LIMIT 1`)
	return latestCheckpoint(log, cps, err)
}

// Checkpoints returns every checkpoint published for log, by size.
func (s *SQLite) Checkpoints(ctx context.Context, log LogID) ([]Checkpoint, error) {
	return s.checkpoints(ctx, log, `ORDER BY size`)
}

func (s *SQLite) checkpoints(ctx context.Context, log LogID, tail string) ([]Checkpoint, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	return readCheckpoints(sqlRows(s.r.QueryContext(ctx, `SELECT size, root, note, published_at FROM log_checkpoints WHERE log = ? `+tail, string(log))))
}

// LogSize is the number of leaves in log (one past its largest index).
func (s *SQLite) LogSize(ctx context.Context, log LogID) (uint64, error) {
	table, err := log.table()
	if err != nil {
		return 0, err
	}
	return s.logSize(ctx, table)
}
