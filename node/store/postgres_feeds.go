package store

import (
	"context"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/jackc/pgx/v5"
)

// Changes returns up to limit changes to records of category with a seq
// above after, in seq order (as SQLite's).
func (s *Postgres) Changes(ctx context.Context, category string, after uint64, limit int) ([]Change, error) {
	limit, err := categoryLimit(category, limit, maxChanges)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT c.seq, c.subject, c.id, r.data, COALESCE(r.updated_at, c.changed_at)
		FROM record_changes c LEFT JOIN records r ON r.subject = c.subject AND r.category = c.category AND r.id = c.id
		WHERE c.category = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3`, category, int64(after), limit)
	return readChanges(rows, err, category)
}

// FeedCursor returns how far this node has applied provider's feed; 0 if
// it never applied a batch.
func (s *Postgres) FeedCursor(ctx context.Context, provider, feed string) (uint64, error) {
	return scanFeedCursor(s.pool.QueryRow(ctx, `SELECT cursor FROM feed_cursors WHERE provider = $1 AND feed = $2`, provider, feed))
}

// ApplyFeed is SQLite's ApplyFeed. The cursor row is read FOR UPDATE, so two
// concurrent applies of one feed are serialised.
func (s *Postgres) ApplyFeed(ctx context.Context, b FeedBatch, check RecordCheck) (applied bool, err error) {
	if err := b.validate(); err != nil {
		return false, err
	}
	err = s.inTx(ctx, "applying feed", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO feed_cursors (provider, feed, cursor, updated_at) VALUES ($1, $2, 0, $3)
			ON CONFLICT (provider, feed) DO NOTHING`, b.Provider, b.Feed, time.Now().UnixNano()); err != nil {
			return unavailable("applying feed", err)
		}
		var cur int64
		if err := tx.QueryRow(ctx, `SELECT cursor FROM feed_cursors WHERE provider = $1 AND feed = $2 FOR UPDATE`,
			b.Provider, b.Feed).Scan(&cur); err != nil {
			return unavailable("applying feed", err)
		}
		if done, err := feedPosition(b, uint64(cur)); done || err != nil {
			return err
		}
		if err := writeFeedBatch(&b, check, func(r records.Record) error {
			_, err := tx.Exec(ctx, `INSERT INTO records (subject, category, id, data, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (subject, category, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
				r.Subject, r.Category, r.ID, []byte(r.Data), r.UpdatedAt.UnixNano())
			return err
		}, func(k Key) error {
			_, err := tx.Exec(ctx, `DELETE FROM records WHERE subject = $1 AND category = $2 AND id = $3`,
				k.Subject, k.Category, k.ID)
			return err
		}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE feed_cursors SET cursor = $3, updated_at = $4 WHERE provider = $1 AND feed = $2`,
			b.Provider, b.Feed, int64(b.To), time.Now().UnixNano()); err != nil {
			return unavailable("applying feed", err)
		}
		applied = true
		return nil
	})
	return applied, err
}
