package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/creditexchange/node/node/records"
)

// Changes returns up to limit changes (limit ≤ 0 or above 10000 means
// 10000) to records of category with a seq above after, in seq order.
func (s *SQLite) Changes(ctx context.Context, category string, after uint64, limit int) ([]Change, error) {
	if category == "" {
		return nil, invalid("empty category")
	}
	if limit <= 0 || limit > maxChanges {
		limit = maxChanges
	}
	rows, err := s.r.QueryContext(ctx, `SELECT c.seq, c.subject, c.id, r.data, COALESCE(r.updated_at, c.changed_at)
		FROM record_changes c LEFT JOIN records r ON r.subject = c.subject AND r.category = c.category AND r.id = c.id
		WHERE c.category = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`, category, int64(after), limit)
	if err != nil {
		return nil, unavailable("reading changes", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		c := Change{Record: records.Record{Category: category}}
		var seq, updated int64
		var data []byte
		if err := rows.Scan(&seq, &c.Record.Subject, &c.Record.ID, &data, &updated); err != nil {
			return nil, unavailable("reading changes", err)
		}
		c.Seq = uint64(seq)
		c.Deleted = data == nil
		c.Record.Data = json.RawMessage(data)
		c.Record.UpdatedAt = time.Unix(0, updated).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("reading changes", err)
	}
	return out, nil
}

// FeedCursor returns how far this node has applied provider's feed; 0 if
// it never applied a batch.
func (s *SQLite) FeedCursor(ctx context.Context, provider, feed string) (uint64, error) {
	var c int64
	err := s.r.QueryRowContext(ctx, `SELECT cursor FROM feed_cursors WHERE provider = ? AND feed = ?`, provider, feed).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("reading feed cursor", err)
	}
	return uint64(c), nil
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
		for i, r := range b.Records {
			if check != nil {
				if err := check(i, r); err != nil {
					return err
				}
			}
			if _, err := stmt.ExecContext(ctx, r.Subject, r.Category, r.ID, []byte(r.Data), r.UpdatedAt.UnixNano()); err != nil {
				return unavailable("applying feed", err)
			}
		}
		for _, k := range b.Withdrawn {
			if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE subject = ? AND category = ? AND id = ?`,
				k.Subject, k.Category, k.ID); err != nil {
				return unavailable("applying feed", err)
			}
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
