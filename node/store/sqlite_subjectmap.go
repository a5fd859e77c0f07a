package store

import (
	"context"
	"database/sql"
	"strings"
)

// ScanLeafHashes calls fn with the index, subject and leaf hash of every
// leaf of log from index from on, in index order, stopping at fn's first
// error. It is what the subject map (node/subjectlog) needs to follow the
// log without reading entry bytes. A gap in the indexes fails with
// ErrTreeCorrupt.
func (s *SQLite) ScanLeafHashes(ctx context.Context, log LogID, from uint64, fn func(index uint64, subject string, leafHash []byte) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT idx, subject, leaf_hash FROM `+table+` WHERE idx >= ? ORDER BY idx`, int64(from)))
	return eachLeafHash(rows, err, table, from, fn)
}

// SubjectMapRevisions returns the newest n stored revisions of the subject
// map, oldest first (none before the first commit).
func (s *SQLite) SubjectMapRevisions(ctx context.Context, n int) ([]SubjectMapRevision, error) {
	if err := checkRevisionCount(n); err != nil {
		return nil, err
	}
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT rev, root, keys, note FROM subject_map_revisions ORDER BY rev DESC LIMIT ?`, n))
	return readSubjectMapRevisions(rows, err)
}

// SubjectMapNodes returns, for each of ids, the node stored at the largest
// revision ≤ rev; positions with none are left out. The read is one
// snapshot, and fails with ErrNotFound if revision rev is not stored (never
// committed, or pruned), so a result is always of a revision whose nodes
// are all still there.
func (s *SQLite) SubjectMapNodes(ctx context.Context, rev uint64, ids [][]byte) ([]SubjectMapNode, error) {
	if err := checkSubjectMapRev(rev); err != nil {
		return nil, err
	}
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable("reading subject map", err)
	}
	defer tx.Rollback()
	if err := sqliteHasRevision(ctx, tx, rev); err != nil {
		return nil, err
	}
	var out []SubjectMapNode
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), subjectMapChunk)]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, int64(rev))
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := sqlRows(tx.QueryContext(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE rev <= ? AND id IN (?`+
			strings.Repeat(`, ?`, len(chunk)-1)+`) ORDER BY id, rev`, args...))
		if err := eachSubjectMapNode(rows, err, func(n SubjectMapNode) error { out = append(out, n); return nil }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScanSubjectMapNodes calls fn with every position's node at revision rev
// (the row of the largest revision ≤ rev), in position order, stopping at
// fn's first error. One snapshot; ErrNotFound if rev is not stored. For
// offline verification.
func (s *SQLite) ScanSubjectMapNodes(ctx context.Context, rev uint64, fn func(SubjectMapNode) error) error {
	if err := checkSubjectMapRev(rev); err != nil {
		return err
	}
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("reading subject map", err)
	}
	defer tx.Rollback()
	if err := sqliteHasRevision(ctx, tx, rev); err != nil {
		return err
	}
	rows, err := sqlRows(tx.QueryContext(ctx, `SELECT id, rev, node FROM subject_map_nodes WHERE rev <= ? ORDER BY id, rev`, int64(rev)))
	return eachSubjectMapNode(rows, err, fn)
}

func sqliteHasRevision(ctx context.Context, tx *sql.Tx, rev uint64) error {
	return revisionStored(tx.QueryRowContext(ctx, `SELECT 1 FROM subject_map_revisions WHERE rev = ?`, int64(rev)), rev)
}

// CommitSubjectMap writes u in one transaction: with Reset, the stored map
// is dropped first; then u's nodes, the stale index of the nodes they
// replace, and the revision with its checkpoint; then the revisions beyond
// the newest u.Keep are pruned with every node only they could reach. It
// fails with ErrSubjectMapConflict if the newest stored revision is not
// u.Prev, and with ErrInvalid for a malformed update or node; either way
// nothing is written.
func (s *SQLite) CommitSubjectMap(ctx context.Context, u SubjectMapUpdate) error {
	if err := u.validate(); err != nil {
		return err
	}
	rev := int64(u.Revision.Rev)
	return s.inWriteTx(ctx, "storing subject map", func(tx *sql.Tx) error {
		have, err := newestRevision(tx.QueryRowContext(ctx, `SELECT MAX(rev) FROM subject_map_revisions`))
		if err != nil {
			return err
		}
		if err := checkSubjectMapPrev(have, u.Prev); err != nil {
			return err
		}
		if u.Reset {
			for _, t := range []string{"subject_map_cosignatures", "subject_map_nodes", "subject_map_stale", "subject_map_revisions"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
					return unavailable("resetting subject map", err)
				}
			}
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO subject_map_nodes (id, rev, node) VALUES (?, ?, ?)`)
		if err != nil {
			return unavailable("storing subject map node", err)
		}
		defer ins.Close()
		for _, n := range u.Nodes {
			if err := validSubjectMapNode(n.ID, n.Data); err != nil {
				return err
			}
			if _, err := ins.ExecContext(ctx, n.ID, rev, n.Data); err != nil {
				return unavailable("storing subject map node", err)
			}
		}
		stale, err := tx.PrepareContext(ctx, `INSERT INTO subject_map_stale (stale_since, id, rev) VALUES (?, ?, ?)`)
		if err != nil {
			return unavailable("storing subject map stale index", err)
		}
		defer stale.Close()
		for _, r := range u.Replaced {
			if err := u.validReplaced(r); err != nil {
				return err
			}
			if _, err := stale.ExecContext(ctx, rev, r.ID, int64(r.Rev)); err != nil {
				return unavailable("storing subject map stale index", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subject_map_revisions (rev, root, keys, note) VALUES (?, ?, ?, ?)`,
			rev, u.Revision.Root, int64(u.Revision.Keys), u.Revision.Note); err != nil {
			return unavailable("storing subject map revision", err)
		}
		return sqlitePruneSubjectMap(ctx, tx, u.Keep)
	})
}

// sqlitePruneSubjectMap keeps the newest keep revisions: a row replaced at
// revision s is reachable from revisions below s only, so the rows replaced
// at or before the oldest kept revision go, and the revisions before it with
// their cosignatures.
func sqlitePruneSubjectMap(ctx context.Context, tx *sql.Tx, keep int) error {
	oldest, ok, err := oldestKept(tx.QueryRowContext(ctx, `SELECT rev FROM subject_map_revisions ORDER BY rev DESC LIMIT 1 OFFSET ?`, keep-1))
	if err != nil || !ok {
		return err // nil: fewer than keep
	}
	for _, q := range []string{
		`DELETE FROM subject_map_nodes WHERE (id, rev) IN (SELECT id, rev FROM subject_map_stale WHERE stale_since <= ?)`,
		`DELETE FROM subject_map_stale WHERE stale_since <= ?`,
		`DELETE FROM subject_map_cosignatures WHERE rev < ?`,
		`DELETE FROM subject_map_revisions WHERE rev < ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, oldest); err != nil {
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
// cosignature; either way nothing is written.
func (s *SQLite) AddSubjectCosignatures(ctx context.Context, cs []SubjectCosignature) (int, error) {
	if err := validCosignatures(cs); err != nil || len(cs) == 0 {
		return 0, err
	}
	var added int
	err := s.inWriteTx(ctx, "storing subject map cosignatures", func(tx *sql.Tx) error {
		added = 0
		for _, rev := range cosignatureRevs(cs) {
			if err := sqliteHasRevision(ctx, tx, rev); err != nil {
				return err
			}
		}
		for _, c := range cs {
			res, err := tx.ExecContext(ctx, `INSERT INTO subject_map_cosignatures (rev, key_name, key_hash, sig) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				int64(c.Rev), c.Name, int64(c.Hash), c.Sig)
			if err != nil {
				return unavailable("storing subject map cosignature", err)
			}
			n, err := res.RowsAffected()
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
// revisions, ordered by revision, key name and key hash; a revision not
// stored has none.
func (s *SQLite) SubjectCosignatures(ctx context.Context, revs []uint64) ([]SubjectCosignature, error) {
	if err := checkCosignatureRevs(revs); err != nil {
		return nil, err
	}
	var out []SubjectCosignature
	for len(revs) > 0 {
		chunk := revs[:min(len(revs), subjectMapChunk)]
		revs = revs[len(chunk):]
		args := make([]any, len(chunk))
		for i, r := range chunk {
			args[i] = int64(r)
		}
		cs, err := readSubjectCosignatures(sqlRows(s.r.QueryContext(ctx, `SELECT rev, key_name, key_hash, sig FROM subject_map_cosignatures WHERE rev IN (?`+
			strings.Repeat(`, ?`, len(chunk)-1)+`) ORDER BY rev, key_name, key_hash`, args...)))
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}
