package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// treeLockSQL is the transaction-scoped advisory lock that serialises the
// extensions of one log's tree within the current schema: what SQLite gets
// from its single write transaction. Appends do not take it; they are
// serialised by the log's head row (pgNextIndex), so the committed leaves an
// extension reads are always a dense prefix of the log.
const treeLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ' tree ' || $1, 0))`

// AppendBatch is [SQLite.AppendBatch] on PostgreSQL: items written to log in
// one transaction (one WAL flush for the batch), each commit inside its own
// savepoint so that a refused commit fails alone. A database failure fails
// the whole batch with ErrUnavailable and nothing is written.
func (s *Postgres) AppendBatch(ctx context.Context, log LogID, items []BatchItem) ([]BatchResult, error) {
	table, err := log.table()
	if err != nil {
		return nil, err
	}
	res, valid := validateBatch(log, items)
	if valid == 0 {
		return res, nil
	}
	err = s.inTx(ctx, "appending batch to "+table, func(tx pgx.Tx) error {
		return appendItems(items, res, func(c *Commit) (Appended, error) {
			return pgCommitSavepoint(ctx, tx, c)
		}, func(l *Leaf) (uint64, error) {
			idx, err := pgNextIndex(ctx, tx, table)
			if err != nil {
				return 0, err
			}
			return idx, pgInsertLeaf(ctx, tx, table, idx, l)
		})
	})
	if err != nil {
		// Results of a failed batch are void: nothing was written.
		return nil, err
	}
	return res, nil
}

// ExtendTree is [SQLite.ExtendTree] on PostgreSQL. The extension runs in one
// transaction holding the log's tree lock, so concurrent callers (several
// nodes or processes on one schema) are serialised, and a checkpoint is
// stored in the same transaction as the state it signs.
func (s *Postgres) ExtendTree(ctx context.Context, log LogID, maxLeaves int, extend func(st TreeState, leafHashes [][]byte) (TreeUpdate, error)) (TreeState, error) {
	table, err := log.table()
	if err != nil {
		return TreeState{}, err
	}
	if maxLeaves < 1 {
		return TreeState{}, invalid("maxLeaves %d", maxLeaves)
	}
	var out TreeState
	err = s.inTx(ctx, "extending "+string(log)+" tree", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, treeLockSQL, string(log)); err != nil {
			return unavailable("locking "+string(log)+" tree", err)
		}
		st, err := pgReadTreeState(ctx, tx, log)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT idx, leaf_hash FROM `+table+` WHERE idx >= $1 ORDER BY idx LIMIT $2`, int64(st.Size), maxLeaves)
		hashes, err := readNewLeafHashes(rows, err, table, st.Size)
		if err != nil {
			return err
		}
		out, err = runExtension(st, hashes, extend, func(cp *Checkpoint) error {
			return pgAddCheckpoint(ctx, tx, log, cp)
		}, func(up *TreeUpdate) error {
			return pgWriteTreeUpdate(ctx, tx, log, up)
		})
		return err
	})
	if err != nil {
		return TreeState{}, err
	}
	return out, nil
}

func pgWriteTreeUpdate(ctx context.Context, tx pgx.Tx, log LogID, up *TreeUpdate) error {
	if len(up.Nodes) > 0 {
		levels := make([]int32, len(up.Nodes))
		idxs := make([]int64, len(up.Nodes))
		hashes := make([][]byte, len(up.Nodes))
		for i, n := range up.Nodes {
			if len(n.Hash) != HashSize || n.Level >= 64 || n.Index > 1<<63-1 {
				return invalid("tree node (%d, %d)", n.Level, n.Index)
			}
			levels[i], idxs[i], hashes[i] = int32(n.Level), int64(n.Index), n.Hash
		}
		// One statement for the whole extension rather than a round trip
		// per node.
		if _, err := tx.Exec(ctx, `INSERT INTO log_tree_nodes (log, level, idx, hash)
			SELECT $1, l, i, h FROM unnest($2::integer[], $3::bigint[], $4::bytea[]) AS t(l, i, h)`,
			string(log), levels, idxs, hashes); err != nil {
			return unavailable("storing tree nodes", err)
		}
	}
	rng, err := packRange(up.State.Range)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO log_tree_state (log, size, "range") VALUES ($1, $2, $3)
		ON CONFLICT (log) DO UPDATE SET size = excluded.size, "range" = excluded."range"`,
		string(log), int64(up.State.Size), rng); err != nil {
		return unavailable("storing tree state", err)
	}
	if up.Checkpoint != nil {
		return pgAddCheckpoint(ctx, tx, log, up.Checkpoint)
	}
	return nil
}

func pgAddCheckpoint(ctx context.Context, tx pgx.Tx, log LogID, cp *Checkpoint) error {
	if err := cp.validate(); err != nil {
		return err
	}
	if done, err := checkpointStored(tx.QueryRow(ctx, `SELECT root FROM log_checkpoints WHERE log = $1 AND size = $2`, string(log), int64(cp.Size)), log, cp); err != nil || done {
		return err // nil: already published
	}
	if _, err := tx.Exec(ctx, `INSERT INTO log_checkpoints (log, size, root, note, published_at) VALUES ($1, $2, $3, $4, $5)`,
		string(log), int64(cp.Size), cp.Root, cp.Note, cp.PublishedAt.UnixNano()); err != nil {
		return unavailable("storing checkpoint", err)
	}
	return nil
}

// pgQueryRower is a pool or a transaction.
type pgQueryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func pgReadTreeState(ctx context.Context, q pgQueryRower, log LogID) (TreeState, error) {
	return scanTreeState(q.QueryRow(ctx, `SELECT size, "range" FROM log_tree_state WHERE log = $1`, string(log)))
}

// TreeState returns how far log's tree has been built.
func (s *Postgres) TreeState(ctx context.Context, log LogID) (TreeState, error) {
	if _, err := log.table(); err != nil {
		return TreeState{}, err
	}
	return pgReadTreeState(ctx, s.pool, log)
}

// TreeNodes is [SQLite.TreeNodes] on PostgreSQL: the stored hashes of log's
// tree at level for indexes [from, to), ErrNotFound if any is missing.
func (s *Postgres) TreeNodes(ctx context.Context, log LogID, level uint, from, to uint64) ([][]byte, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	if err := checkNodeRange(level, from, to); err != nil {
		return nil, err
	}
	if from == to {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT hash FROM log_tree_nodes WHERE log = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx`,
		string(log), int32(level), int64(from), int64(to))
	return readNodeHashes(rows, err, log, level, from, to)
}

// ScanTreeNodes calls fn for every stored node of log's tree at level, in
// index order, stopping at fn's first error. For offline verification.
func (s *Postgres) ScanTreeNodes(ctx context.Context, log LogID, level uint, fn func(TreeNode) error) error {
	if _, err := log.table(); err != nil {
		return err
	}
	if level >= 64 { // SQLite's ScanTreeNodes has no such check
		return invalid("tree level %d", level)
	}
	rows, err := s.pool.Query(ctx, `SELECT idx, hash FROM log_tree_nodes WHERE log = $1 AND level = $2 ORDER BY idx`, string(log), int32(level))
	return eachTreeNode(rows, err, level, fn)
}

// ScanLeaves calls fn for every row of log's leaf table in index order,
// exactly as stored (gaps included), stopping at fn's first error. For
// offline verification.
func (s *Postgres) ScanLeaves(ctx context.Context, log LogID, fn func(StoredLeaf) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+leafColumns+` FROM `+table+` ORDER BY idx`)
	return eachRow(rows, err, "reading "+table, scanStoredLeaf, fn)
}

// LatestCheckpoint returns log's largest published checkpoint, or
// ErrNotFound if none has been published.
func (s *Postgres) LatestCheckpoint(ctx context.Context, log LogID) (Checkpoint, error) {
	cps, err := s.checkpoints(ctx, log, `ORDER BY size DESC LIMIT 1`)
	return latestCheckpoint(log, cps, err)
}

// Checkpoints returns every checkpoint published for log, by size.
func (s *Postgres) Checkpoints(ctx context.Context, log LogID) ([]Checkpoint, error) {
	return s.checkpoints(ctx, log, `ORDER BY size`)
}

func (s *Postgres) checkpoints(ctx context.Context, log LogID, tail string) ([]Checkpoint, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	return readCheckpoints(s.pool.Query(ctx, `SELECT size, root, note, published_at FROM log_checkpoints WHERE log = $1 `+tail, string(log)))
}

// LogSize is the number of leaves in log (one past its largest index).
func (s *Postgres) LogSize(ctx context.Context, log LogID) (uint64, error) {
	table, err := log.table()
	if err != nil {
		return 0, err
	}
	return s.logSize(ctx, table)
}
