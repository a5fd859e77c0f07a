package store

import (
	"context"

	"github.com/creditexchange/node/node/records"
)

// RecordsInCategory returns every subject's records of one category, ordered
// by subject then id, at most limit of them (as SQLite's).
func (s *Postgres) RecordsInCategory(ctx context.Context, category string, limit int) ([]records.Record, error) {
	limit, err := categoryLimit(category, limit, maxCategoryRecords)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT subject, id, data, updated_at FROM records
		WHERE category = $1 ORDER BY subject, id LIMIT $2`, category, limit)
	return readCategoryRecords(rows, err, category)
}
