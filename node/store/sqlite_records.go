package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/creditexchange/node/node/records"
)

// ImportRecords inserts or replaces recs, keyed by (subject, category, id),
// in one transaction: either every record is stored or none is. A record with
// an empty key field fails the whole import with ErrInvalid.
func (s *SQLite) ImportRecords(ctx context.Context, recs []records.Record) error {
	if err := validateImport(recs); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	return s.inWriteTx(ctx, "importing records", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO records (subject, category, id, data, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (subject, category, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`)
		if err != nil {
			return unavailable("importing records", err)
		}
		defer stmt.Close()
		for i := range recs {
			r := &recs[i]
			if _, err := stmt.ExecContext(ctx, r.Subject, r.Category, r.ID, []byte(r.Data), r.UpdatedAt.UnixNano()); err != nil {
				return unavailable("importing records", err)
			}
		}
		return nil
	})
}

// Records returns the subject's records in the given categories, ordered by
// category then id. Only the listed categories are read: an empty list
// returns no records, so a caller that forgot to filter gets nothing rather
// than everything.
func (s *SQLite) Records(ctx context.Context, subject string, categories []string) ([]records.Record, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	cats, err := sortedCategories(categories)
	if err != nil || cats == nil {
		return nil, err
	}
	args := make([]any, 0, len(cats)+1)
	args = append(args, subject)
	for _, c := range cats {
		args = append(args, c)
	}
	q := `SELECT category, id, data, updated_at FROM records
		WHERE subject = ? AND category IN (?` + strings.Repeat(", ?", len(cats)-1) + `)
		ORDER BY category, id`
	rows, err := sqlRows(s.r.QueryContext(ctx, q, args...))
	return readSubjectRecords(rows, err, subject)
}
