package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/creditexchange/node/node/records"
)

// maxCategoryRecords bounds what one RecordsInCategory call returns.
const maxCategoryRecords = 100000

// RecordsInCategory returns every subject's records of one category, ordered
// by subject then id, at most limit of them (limit ≤ 0 or above 100000 means
// 100000). For sweeps over a category (overdue commitments).
func (s *SQLite) RecordsInCategory(ctx context.Context, category string, limit int) ([]records.Record, error) {
	if category == "" {
		return nil, invalid("empty category")
	}
	if limit <= 0 || limit > maxCategoryRecords {
		limit = maxCategoryRecords
	}
	rows, err := s.r.QueryContext(ctx, `SELECT subject, id, data, updated_at FROM records
		WHERE category = ? ORDER BY subject, id LIMIT ?`, category, limit)
	if err != nil {
		return nil, unavailable("reading records", err)
	}
	defer rows.Close()
	var out []records.Record
	for rows.Next() {
		r := records.Record{Category: category}
		var data []byte
		var updated int64
		if err := rows.Scan(&r.Subject, &r.ID, &data, &updated); err != nil {
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
