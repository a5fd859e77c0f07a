package store

import (
	"context"
	"time"
)

// AllowedQueries is [SQLite.AllowedQueries] on PostgreSQL: how many allowed
// queries requester made about subject since the given time, counted from
// the inquiry log entries (canonical JSON in a BYTEA column).
func (s *Postgres) AllowedQueries(ctx context.Context, requester, subject string, since time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `
		SELECT COUNT(*) FROM (
			SELECT convert_from(entry, 'UTF8')::jsonb AS e FROM inquiry_log
			WHERE subject = $1 AND time >= $2
		) l
		WHERE l.e ->> 'kind' = 'query' AND l.e ->> 'decision' = 'allow' AND l.e ->> 'requester' = $3`,
		subject, since.UnixNano(), requester).Scan(&n)
	if err != nil {
		return 0, unavailable("counting allowed queries", err)
	}
	return n, nil
}
