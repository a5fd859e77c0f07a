package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

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
	err = s.inTx(ctx, "appending batch to "+table, func(tx pgx.Tx) error {
		for i, it := range items {
			if res[i].Err != nil {
				continue
			}
			if it.Commit != nil {
				a, err := pgCommitSavepoint(ctx, tx, it.Commit)
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
			idx, err := pgNextIndex(ctx, tx, table)
			if err != nil {
				return err
			}
			if err := pgInsertLeaf(ctx, tx, table, idx, it.Leaf); err != nil {
				return err
			}
			res[i].Appended = Appended{Index: idx, LeafHash: it.Leaf.LeafHash}
		}
		return nil
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
		out = st
		rows, err := tx.Query(ctx, `SELECT idx, leaf_hash FROM `+table+` WHERE idx >= $1 ORDER BY idx LIMIT $2`, int64(st.Size), maxLeaves)
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
			if up.Checkpoint == nil {
				return nil
			}
			if up.Checkpoint.Size != st.Size {
				return invalid("checkpoint of size %d for a tree of size %d", up.Checkpoint.Size, st.Size)
			}
			return pgAddCheckpoint(ctx, tx, log, up.Checkpoint)
		}
		if up.State.Size != st.Size+uint64(len(hashes)) {
			return invalid("extension to size %d, want %d", up.State.Size, st.Size+uint64(len(hashes)))
		}
		if err := pgWriteTreeUpdate(ctx, tx, log, &up); err != nil {
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
	rng := make([]byte, 0, HashSize*len(up.State.Range))
	for _, h := range up.State.Range {
		if len(h) != HashSize {
			return invalid("compact range hash of %d bytes", len(h))
		}
		rng = append(rng, h...)
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
	if len(cp.Root) != HashSize || len(cp.Note) == 0 || cp.PublishedAt.IsZero() {
		return invalid("checkpoint of size %d: root, note and time are required", cp.Size)
	}
	var old []byte
	err := tx.QueryRow(ctx, `SELECT root FROM log_checkpoints WHERE log = $1 AND size = $2`, string(log), int64(cp.Size)).Scan(&old)
	switch {
	case err == nil:
		if !bytes.Equal(old, cp.Root) {
			return fmt.Errorf("%w: %s log size %d", ErrCheckpointConflict, log, cp.Size)
		}
		return nil // already published
	case !errNoRows(err):
		return unavailable("reading checkpoints", err)
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
	var size int64
	var rng []byte
	err := q.QueryRow(ctx, `SELECT size, "range" FROM log_tree_state WHERE log = $1`, string(log)).Scan(&size, &rng)
	switch {
	case errNoRows(err):
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
	if from > to || to > 1<<63-1 || level >= 64 {
		return nil, invalid("tree node range %d:[%d, %d)", level, from, to)
	}
	if from == to {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT hash FROM log_tree_nodes WHERE log = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx`,
		string(log), int32(level), int64(from), int64(to))
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
func (s *Postgres) ScanTreeNodes(ctx context.Context, log LogID, level uint, fn func(TreeNode) error) error {
	if _, err := log.table(); err != nil {
		return err
	}
	if level >= 64 {
		return invalid("tree level %d", level)
	}
	rows, err := s.pool.Query(ctx, `SELECT idx, hash FROM log_tree_nodes WHERE log = $1 AND level = $2 ORDER BY idx`, string(log), int32(level))
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
// exactly as stored (gaps included), stopping at fn's first error. For
// offline verification.
func (s *Postgres) ScanLeaves(ctx context.Context, log LogID, fn func(StoredLeaf) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT idx, subject, time, entry, salt, leaf_hash FROM `+table+` ORDER BY idx`)
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
func (s *Postgres) LatestCheckpoint(ctx context.Context, log LogID) (Checkpoint, error) {
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
func (s *Postgres) Checkpoints(ctx context.Context, log LogID) ([]Checkpoint, error) {
	return s.checkpoints(ctx, log, `ORDER BY size`)
}

func (s *Postgres) checkpoints(ctx context.Context, log LogID, tail string) ([]Checkpoint, error) {
	if _, err := log.table(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT size, root, note, published_at FROM log_checkpoints WHERE log = $1 `+tail, string(log))
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
func (s *Postgres) LogSize(ctx context.Context, log LogID) (uint64, error) {
	table, err := log.table()
	if err != nil {
		return 0, err
	}
	return s.logSize(ctx, table)
}
