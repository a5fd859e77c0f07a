package store

import (
	"context"

	"github.com/creditexchange/node/node/records"
)

// RecordsInCategory returns every subject's records of one category, ordered
// by subject then id, at most limit of them (limit ≤ 0 or above 100000 means
// 100000). For sweeps over a category (overdue commitments).
func (s *SQLite) RecordsInCategory(ctx context.Context, category string, limit int) ([]records.Record, error) {
	limit, err := categoryLimit(category, limit, maxCategoryRecords)
	if err != nil {
		return nil, err
	}
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT subject, id, data, updated_at FROM records
		WHERE category = ? ORDER BY subject, id LIMIT ?`, category, limit))
	return readCategoryRecords(rows, err, category)
}
