package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/creditexchange/node/node/records"
)

// maxCategories bounds the categories one Records call may ask for (SQLite
// limits the bound parameters of one statement).
const maxCategories = 1000

// ImportRecords inserts or replaces recs, keyed by (subject, category, id),
// in one transaction: either every record is stored or none is. A record with
// an empty key field fails the whole import with ErrInvalid.
func (s *SQLite) ImportRecords(ctx context.Context, recs []records.Record) error {
	for i := range recs {
		r := &recs[i]
		if r.Subject == "" || r.Category == "" || r.ID == "" {
			return invalid("record %d: empty subject, category or id", i)
		}
		if len(r.Data) == 0 {
			return invalid("record %d: empty data", i)
		}
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
	cats := slices.Clone(categories)
	slices.Sort(cats)
	cats = slices.Compact(cats)
	if len(cats) == 0 {
		return nil, nil
	}
	if len(cats) > maxCategories {
		return nil, invalid("%d categories, at most %d", len(cats), maxCategories)
	}
	args := make([]any, 0, len(cats)+1)
	args = append(args, subject)
	for _, c := range cats {
		args = append(args, c)
	}
	q := `SELECT category, id, data, updated_at FROM records
		WHERE subject = ? AND category IN (?` + strings.Repeat(", ?", len(cats)-1) + `)
		ORDER BY category, id`
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, unavailable("reading records", err)
	}
	defer rows.Close()
	var out []records.Record
	for rows.Next() {
		r := records.Record{Subject: subject}
		var data []byte
		var updated int64
		if err := rows.Scan(&r.Category, &r.ID, &data, &updated); err != nil {
			return nil, unavailable("reading records", err)
		}
		r.Data = json.RawMessage(data)
		r.UpdatedAt = time.Unix(0, updated).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("reading records", err)
	}
	return out, nil
}
