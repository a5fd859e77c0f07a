package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SubjectMapRevisions is SQLite.SubjectMapRevisions on PostgreSQL.
func (s *Postgres) SubjectMapRevisions(ctx context.Context, n int) ([]SubjectMapRevision, error) {
	if err := checkRevisionCount(n); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT rev, root, keys, note FROM subject_map_revisions ORDER BY rev DESC LIMIT $1`, n)
	return readSubjectMapRevisions(rows, err)
}

// readSnapshot runs fn in a read-only REPEATABLE READ transaction (one
// snapshot) after checking that subject map revision rev is stored.
func (s *Postgres) readSnapshot(ctx context.Context, rev uint64, fn func(tx pgx.Tx) error) error {
	if err := checkSubjectMapRev(rev); err != nil {
		return err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return unavailable("reading subject map", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := revisionStored(tx.QueryRow(ctx, `SELECT 1 FROM subject_map_revisions WHERE rev = $1`, int64(rev)), rev); err != nil {
		return err
	}
	return fn(tx)
}

// SubjectMapNodes is SQLite.SubjectMapNodes on PostgreSQL.
func (s *Postgres) SubjectMapNodes(ctx context.Context, rev uint64, ids [][]byte) ([]SubjectMapNode, error) {
	var out []SubjectMapNode
	err := s.readSnapshot(ctx, rev, func(tx pgx.Tx) error {
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), subjectMapChunk)]
			ids = ids[len(chunk):]
			rows, err := tx.Query(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE id = ANY($1) AND rev <= $2 ORDER BY id, rev`, chunk, int64(rev))
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

// ScanSubjectMapNodes is SQLite.ScanSubjectMapNodes on PostgreSQL.
func (s *Postgres) ScanSubjectMapNodes(ctx context.Context, rev uint64, fn func(SubjectMapNode) error) error {
	return s.readSnapshot(ctx, rev, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE rev <= $1 ORDER BY id, rev`, int64(rev))
		return eachSubjectMapNode(rows, err, fn)
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
		if err := u.validReplaced(r); err != nil {
			return err
		}
	}
	rev := int64(u.Revision.Rev)
	return s.inTx(ctx, "storing subject map", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE subject_map_revisions IN EXCLUSIVE MODE`); err != nil {
			return unavailable("locking subject map", err)
		}
		have, err := newestRevision(tx.QueryRow(ctx, `SELECT MAX(rev) FROM subject_map_revisions`))
		if err != nil {
			return err
		}
		if err := checkSubjectMapPrev(have, u.Prev); err != nil {
			return err
		}
		if u.Reset {
			for _, t := range []string{"subject_map_cosignatures", "subject_map_nodes", "subject_map_stale", "subject_map_revisions"} {
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
		oldest, ok, err := oldestKept(tx.QueryRow(ctx, `SELECT rev FROM subject_map_revisions ORDER BY rev DESC LIMIT 1 OFFSET $1`, u.Keep-1))
		if err != nil || !ok {
			return err // nil: fewer than Keep
		}
		for _, q := range []string{
			`DELETE FROM subject_map_nodes n USING subject_map_stale s WHERE s.stale_since <= $1 AND n.id = s.id AND n.rev = s.rev`,
			`DELETE FROM subject_map_stale WHERE stale_since <= $1`,
			`DELETE FROM subject_map_cosignatures WHERE rev < $1`,
			`DELETE FROM subject_map_revisions WHERE rev < $1`,
		} {
			if _, err := tx.Exec(ctx, q, oldest); err != nil {
				return unavailable("pruning subject map", err)
			}
		}
		return nil
	})
}

// AddSubjectCosignatures is SQLite.AddSubjectCosignatures on PostgreSQL.
// The revisions' rows are locked FOR KEY SHARE, so a concurrent prune
// waits for the transaction or has already removed them (ErrNotFound).
func (s *Postgres) AddSubjectCosignatures(ctx context.Context, cs []SubjectCosignature) (int, error) {
	if err := validCosignatures(cs); err != nil || len(cs) == 0 {
		return 0, err
	}
	var added int
	err := s.inTx(ctx, "storing subject map cosignatures", func(tx pgx.Tx) error {
		added = 0
		for _, rev := range cosignatureRevs(cs) {
			if err := revisionStored(tx.QueryRow(ctx, `SELECT 1 FROM subject_map_revisions WHERE rev = $1 FOR KEY SHARE`, int64(rev)), rev); err != nil {
				return err
			}
		}
		for _, c := range cs {
			tag, err := tx.Exec(ctx, `INSERT INTO subject_map_cosignatures (rev, key_name, key_hash, sig) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
				int64(c.Rev), c.Name, int64(c.Hash), c.Sig)
			if err != nil {
				return unavailable("storing subject map cosignature", err)
			}
			added += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// SubjectCosignatures is SQLite.SubjectCosignatures on PostgreSQL (names
// ordered bytewise, as SQLite's BINARY collation does).
func (s *Postgres) SubjectCosignatures(ctx context.Context, revs []uint64) ([]SubjectCosignature, error) {
	if err := checkCosignatureRevs(revs); err != nil {
		return nil, err
	}
	if len(revs) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(revs))
	for i, r := range revs {
		ids[i] = int64(r)
	}
	return readSubjectCosignatures(s.pool.Query(ctx, `SELECT rev, key_name, key_hash, sig FROM subject_map_cosignatures WHERE rev = ANY($1) ORDER BY rev, key_name COLLATE "C", key_hash`, ids))
}
