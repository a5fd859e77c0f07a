package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SubjectMapRevisions is SQLite.SubjectMapRevisions on PostgreSQL.
func (s *Postgres) SubjectMapRevisions(ctx context.Context, n int) ([]SubjectMapRevision, error) {
	if n < 1 {
		return nil, invalid("subject map revisions %d", n)
	}
	rows, err := s.pool.Query(ctx, `SELECT rev, root, keys, note FROM subject_map_revisions ORDER BY rev DESC LIMIT $1`, n)
	if err != nil {
		return nil, unavailable("reading subject map revisions", err)
	}
	defer rows.Close()
	var out []SubjectMapRevision
	for rows.Next() {
		var r SubjectMapRevision
		var rev, keys int64
		if err := rows.Scan(&rev, &r.Root, &keys, &r.Note); err != nil {
			return nil, unavailable("reading subject map revisions", err)
		}
		r.Rev, r.Keys = uint64(rev), uint64(keys)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("reading subject map revisions", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// readSnapshot runs fn in a read-only REPEATABLE READ transaction (one
// snapshot) after checking that subject map revision rev is stored.
func (s *Postgres) readSnapshot(ctx context.Context, rev uint64, fn func(tx pgx.Tx) error) error {
	if rev > 1<<63-1 {
		return invalid("subject map revision %d", rev)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return unavailable("reading subject map", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var one int
	err = tx.QueryRow(ctx, `SELECT 1 FROM subject_map_revisions WHERE rev = $1`, int64(rev)).Scan(&one)
	switch {
	case errNoRows(err):
		return fmt.Errorf("%w: subject map revision %d", ErrNotFound, rev)
	case err != nil:
		return unavailable("reading subject map revisions", err)
	}
	return fn(tx)
}

// eachPostgresSubjectMapNode is eachSubjectMapNode for pgx rows.
func eachPostgresSubjectMapNode(rows pgx.Rows, fn func(SubjectMapNode) error) error {
	defer rows.Close()
	var pending *SubjectMapNode
	for rows.Next() {
		var n SubjectMapNode
		var rev int64
		if err := rows.Scan(&n.ID, &rev, &n.Data); err != nil {
			return unavailable("reading subject map", err)
		}
		n.Rev = uint64(rev)
		if pending != nil && string(pending.ID) != string(n.ID) {
			if err := fn(*pending); err != nil {
				return err
			}
		}
		pending = &n
	}
	if err := rows.Err(); err != nil {
		return unavailable("reading subject map", err)
	}
	if pending != nil {
		return fn(*pending)
	}
	return nil
}

// SubjectMapNodes is SQLite.SubjectMapNodes on PostgreSQL.
func (s *Postgres) SubjectMapNodes(ctx context.Context, rev uint64, ids [][]byte) ([]SubjectMapNode, error) {
	var out []SubjectMapNode
	err := s.readSnapshot(ctx, rev, func(tx pgx.Tx) error {
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), subjectMapChunk)]
			ids = ids[len(chunk):]
			rows, err := tx.Query(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE id = ANY($1) AND rev <= $2 ORDER BY id, rev`, chunk, int64(rev))
			if err != nil {
				return unavailable("reading subject map", err)
			}
			if err := eachPostgresSubjectMapNode(rows, func(n SubjectMapNode) error { out = append(out, n); return nil }); err != nil {
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

// ScanSubjectMapNodes is SQLite.ScanSubjectMapNodes on PostgreSQL.
func (s *Postgres) ScanSubjectMapNodes(ctx context.Context, rev uint64, fn func(SubjectMapNode) error) error {
	return s.readSnapshot(ctx, rev, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE rev <= $1 ORDER BY id, rev`, int64(rev))
		if err != nil {
			return unavailable("reading subject map", err)
		}
		return eachPostgresSubjectMapNode(rows, fn)
	})
}

// CommitSubjectMap is SQLite.CommitSubjectMap on PostgreSQL. Concurrent
// commits are serialised by an EXCLUSIVE lock on subject_map_revisions
// (readers, which take ACCESS SHARE, are not blocked); nodes and the stale
// index are written with COPY.
func (s *Postgres) CommitSubjectMap(ctx context.Context, u SubjectMapUpdate) error {
	if err := u.validate(); err != nil {
		return err
	}
	for _, n := range u.Nodes {
		if err := validSubjectMapNode(n.ID, n.Data); err != nil {
			return err
		}
	}
	for _, r := range u.Replaced {
		if len(r.ID) == 0 || len(r.ID) > MaxSubjectMapID || r.Rev >= u.Revision.Rev {
			return invalid("replaced subject map node of %d-byte id at revision %d", len(r.ID), r.Rev)
		}
	}
	rev := int64(u.Revision.Rev)
	return s.inTx(ctx, "storing subject map", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE subject_map_revisions IN EXCLUSIVE MODE`); err != nil {
			return unavailable("locking subject map", err)
		}
		var newest *int64
		if err := tx.QueryRow(ctx, `SELECT MAX(rev) FROM subject_map_revisions`).Scan(&newest); err != nil {
			return unavailable("reading subject map revisions", err)
		}
		var have *uint64
		if newest != nil {
			v := uint64(*newest)
			have = &v
		}
		if err := checkSubjectMapPrev(have, u.Prev); err != nil {
			return err
		}
		if u.Reset {
			for _, t := range []string{"subject_map_nodes", "subject_map_stale", "subject_map_revisions"} {
				if _, err := tx.Exec(ctx, `DELETE FROM `+t); err != nil { // not TRUNCATE: readers keep their snapshot
					return unavailable("resetting subject map", err)
				}
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"subject_map_nodes"}, []string{"id", "rev", "node"},
			pgx.CopyFromSlice(len(u.Nodes), func(i int) ([]any, error) {
				return []any{u.Nodes[i].ID, rev, u.Nodes[i].Data}, nil
			})); err != nil {
			return unavailable("storing subject map nodes", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"subject_map_stale"}, []string{"stale_since", "id", "rev"},
			pgx.CopyFromSlice(len(u.Replaced), func(i int) ([]any, error) {
				return []any{rev, u.Replaced[i].ID, int64(u.Replaced[i].Rev)}, nil
			})); err != nil {
			return unavailable("storing subject map stale index", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO subject_map_revisions (rev, root, keys, note) VALUES ($1, $2, $3, $4)`,
			rev, u.Revision.Root, int64(u.Revision.Keys), u.Revision.Note); err != nil {
			return unavailable("storing subject map revision", err)
		}
		var oldest int64
		err := tx.QueryRow(ctx, `SELECT rev FROM subject_map_revisions ORDER BY rev DESC LIMIT 1 OFFSET $1`, u.Keep-1).Scan(&oldest)
		switch {
		case errNoRows(err):
			return nil // fewer than Keep
		case err != nil:
			return unavailable("pruning subject map", err)
		}
		for _, q := range []string{
			`DELETE FROM subject_map_nodes n USING subject_map_stale s WHERE s.stale_since <= $1 AND n.id = s.id AND n.rev = s.rev`,
			`DELETE FROM subject_map_stale WHERE stale_since <= $1`,
			`DELETE FROM subject_map_revisions WHERE rev < $1`,
		} {
			if _, err := tx.Exec(ctx, q, oldest); err != nil {
				return unavailable("pruning subject map", err)
			}
		}
		return nil
	})
}
