package store

import (
	"context"
	"fmt"
	"time"
)

// AllowedQueries counts the allowed query entries of requester about subject
// logged at or after since: the usage the fair-use policy limits. It reads
// the inquiry log (index inquiry_log_subject_time), so the count is exactly
// what the subject can see.
func (s *SQLite) AllowedQueries(ctx context.Context, requester, subject string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM inquiry_log
		WHERE subject = ? AND time >= ?
		  AND json_extract(entry, '$.kind') = 'query'
		  AND json_extract(entry, '$.decision') = 'allow'
		  AND json_extract(entry, '$.requester') = ?`,
		subject, since.UnixNano(), requester).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: allowed queries: %w", err)
	}
	return n, nil
}
