package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/creditexchange/node/node/records"
)

// Changes returns up to limit changes (limit ≤ 0 or above 10000 means
// 10000) to records of category with a seq above after, in seq order.
func (s *SQLite) Changes(ctx context.Context, category string, after uint64, limit int) ([]Change, error) {
	limit, err := categoryLimit(category, limit, maxChanges)
	if err != nil {
		return nil, err
	}
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT c.seq, c.subject, c.id, r.data, COALESCE(r.updated_at, c.changed_at)
		FROM record_changes c LEFT JOIN records r ON r.subject = c.subject AND r.category = c.category AND r.id = c.id
		WHERE c.category = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`, category, int64(after), limit))
	return readChanges(rows, err, category)
}

// FeedCursor returns how far this node has applied provider's feed; 0 if
// it never applied a batch.
func (s *SQLite) FeedCursor(ctx context.Context, provider, feed string) (uint64, error) {
	return scanFeedCursor(s.r.QueryRowContext(ctx, `SELECT cursor FROM feed_cursors WHERE provider = ? AND feed = ?`, provider, feed))
}

// ApplyFeed upserts the batch's records, keyed by (subject, category, id),
// deletes its withdrawn ones, and moves the cursor to b.To, in one
// transaction. check, if not nil, sees
// each record inside the transaction and can refuse the batch. A batch that
// ends at or before the cursor was applied already: applied is false and
// nothing is written (idempotent). A batch that does not start at the cursor
// otherwise is ErrFeedCursor.
func (s *SQLite) ApplyFeed(ctx context.Context, b FeedBatch, check RecordCheck) (applied bool, err error) {
	if err := b.validate(); err != nil {
		return false, err
	}
	err = s.inWriteTx(ctx, "applying feed", func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT cursor FROM feed_cursors WHERE provider = ? AND feed = ?`, b.Provider, b.Feed).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return unavailable("applying feed", err)
		}
		if done, err := feedPosition(b, uint64(cur)); done || err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO records (subject, category, id, data, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (subject, category, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`)
		if err != nil {
			return unavailable("applying feed", err)
		}
		defer stmt.Close()
		if err := writeFeedBatch(&b, check, func(r records.Record) error {
			_, err := stmt.ExecContext(ctx, r.Subject, r.Category, r.ID, []byte(r.Data), r.UpdatedAt.UnixNano())
			return err
		}, func(k Key) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM records WHERE subject = ? AND category = ? AND id = ?`,
				k.Subject, k.Category, k.ID)
			return err
		}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO feed_cursors (provider, feed, cursor, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (provider, feed) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
			b.Provider, b.Feed, int64(b.To), time.Now().UnixNano()); err != nil {
			return unavailable("applying feed", err)
		}
		applied = true
		return nil
	})
	return applied, err
}
