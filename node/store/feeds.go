package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/creditexchange/node/node/records"
)

// Change feeds (node/feeds). A provider's record_changes table (migration
// 0009) gives every insert or update of a record a sequence number; a
// subscriber's feed_cursors table (0010) holds how far it has applied each
// provider's feed.

// maxChanges bounds one Changes call.
const maxChanges = 10000

// ErrFeedCursor is returned by ApplyFeed when a batch neither starts at the
// subscriber's cursor nor ends at or before it: a gap or an overlap. Nothing
// is written.
var ErrFeedCursor = errors.New("store: feed batch does not start at the cursor")

// Change is one change to a record, with the record as it is now (a record
// changed twice appears twice, each time with its current data). Deleted
// means the record is gone (purged, or withdrawn by its own provider):
// Record then has only its key and the time of the change.
type Change struct {
	Seq     uint64
	Deleted bool
	Record  records.Record
}

// FeedBatch is what a subscriber applies: the records of one batch of a
// provider's feed, which moves the cursor from From to To. Withdrawn are
// records the provider may no longer share (removed after an objection,
// past retention, repaired): the subscriber deletes its copies.
type FeedBatch struct {
	Provider  string
	Feed      string
	From, To  uint64
	Records   []records.Record
	Withdrawn []Key
}

// Key names one record.
type Key struct{ Subject, Category, ID string }

func (b *FeedBatch) validate() error {
	switch {
	case b.Provider == "" || b.Feed == "":
		return invalid("feed batch has no provider or feed")
	case b.To < b.From:
		return invalid("feed batch ends before it starts")
	}
	for i := range b.Records {
		r := &b.Records[i]
		if r.Subject == "" || r.Category == "" || r.ID == "" || len(r.Data) == 0 {
			return invalid("feed record %d: empty subject, category, id or data", i)
		}
	}
	for i, k := range b.Withdrawn {
		if k.Subject == "" || k.Category == "" || k.ID == "" {
			return invalid("withdrawn record %d: empty subject, category or id", i)
		}
	}
	return nil
}

// RecordCheck is called by ApplyFeed for each record inside the
// transaction; an error rolls the whole batch back.
type RecordCheck func(i int, r records.Record) error

// feedPosition decides what to do with b when the cursor is cur: apply it
// (it starts at the cursor), skip it (done: it ends at or before the cursor,
// so it was applied before), or refuse it (a gap or an overlap).
func feedPosition(b FeedBatch, cur uint64) (done bool, err error) {
	switch {
	case b.From == cur:
		return false, nil
	case b.To <= cur:
		return true, nil
	default:
		return false, ErrFeedCursor
	}
}

// readChanges reads the rows of a Changes query on category: (seq, subject,
// id, data, updated or changed at); NULL data is a deletion.
func readChanges(rows rowIter, err error, category string) ([]Change, error) {
	return collect(rows, err, "reading changes", func(row rowScanner) (Change, error) {
		c := Change{Record: records.Record{Category: category}}
		var seq, updated int64
		var data []byte
		if err := row.Scan(&seq, &c.Record.Subject, &c.Record.ID, &data, &updated); err != nil {
			return Change{}, err
		}
		c.Seq = uint64(seq)
		c.Deleted = data == nil
		c.Record.Data = json.RawMessage(data)
		c.Record.UpdatedAt = unixTime(updated)
		return c, nil
	})
}

// scanFeedCursor reads a FeedCursor row; no row is 0.
func scanFeedCursor(row rowScanner) (uint64, error) {
	var c int64
	err := row.Scan(&c)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("reading feed cursor", err)
	}
	return uint64(c), nil
}

// writeFeedBatch passes each record of b to check (if not nil) and then to
// upsert, and each withdrawn key to remove, stopping at the first error: a
// check's unchanged, a write's as ErrUnavailable.
func writeFeedBatch(b *FeedBatch, check RecordCheck, upsert func(records.Record) error, remove func(Key) error) error {
	for i, r := range b.Records {
		if check != nil {
			if err := check(i, r); err != nil {
				return err
			}
		}
		if err := upsert(r); err != nil {
			return unavailable("applying feed", err)
		}
	}
	for _, k := range b.Withdrawn {
		if err := remove(k); err != nil {
			return unavailable("applying feed", err)
		}
	}
	return nil
}

// Changes returns up to limit changes (limit ≤ 0 or above 10000 means
// 10000) to records of category with a seq above after, in seq order.
func (s *ops) Changes(ctx context.Context, category string, after uint64, limit int) ([]Change, error) {
	limit, err := categoryLimit(category, limit, maxChanges)
	if err != nil {
		return nil, err
	}
	rows, err := s.d.reader().query(ctx, `SELECT c.seq, c.subject, c.id, r.data, COALESCE(r.updated_at, c.changed_at)
		FROM record_changes c LEFT JOIN records r ON r.subject = c.subject AND r.category = c.category AND r.id = c.id
		WHERE c.category = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`, category, int64(after), limit)
	return readChanges(rows, err, category)
}

// FeedCursor returns how far this node has applied provider's feed; 0 if
// it never applied a batch.
func (s *ops) FeedCursor(ctx context.Context, provider, feed string) (uint64, error) {
	return scanFeedCursor(s.d.reader().queryRow(ctx, `SELECT cursor FROM feed_cursors WHERE provider = ? AND feed = ?`, provider, feed))
}

// ApplyFeed upserts the batch's records, keyed by (subject, category, id),
// deletes its withdrawn ones, and moves the cursor to b.To, in one
// transaction. check, if not nil, sees each record inside the transaction
// and can refuse the batch. A batch that ends at or before the cursor was
// applied already: applied is false and nothing is written (idempotent). A
// batch that does not start at the cursor otherwise is ErrFeedCursor. The
// cursor row is created first if missing and read FOR UPDATE on PostgreSQL,
// so two concurrent applies of one feed are serialised.
func (s *ops) ApplyFeed(ctx context.Context, b FeedBatch, check RecordCheck) (applied bool, err error) {
	if err := b.validate(); err != nil {
		return false, err
	}
	err = s.d.transact(ctx, "applying feed", func(tx conn) error {
		if _, err := tx.exec(ctx, `INSERT INTO feed_cursors (provider, feed, cursor, updated_at) VALUES (?, ?, 0, ?)
			ON CONFLICT (provider, feed) DO NOTHING`, b.Provider, b.Feed, time.Now().UnixNano()); err != nil {
			return unavailable("applying feed", err)
		}
		var cur int64
		if err := tx.queryRow(ctx, `SELECT cursor FROM feed_cursors WHERE provider = ? AND feed = ?`+s.d.rowLock(" FOR UPDATE"),
			b.Provider, b.Feed).Scan(&cur); err != nil {
			return unavailable("applying feed", err)
		}
		if done, err := feedPosition(b, uint64(cur)); done || err != nil {
			return err
		}
		if err := writeFeedBatch(&b, check, func(r records.Record) error {
			_, err := tx.exec(ctx, upsertRecordSQL, r.Subject, r.Category, r.ID, []byte(r.Data), r.UpdatedAt.UnixNano())
			return err
		}, func(k Key) error {
			_, err := tx.exec(ctx, `DELETE FROM records WHERE subject = ? AND category = ? AND id = ?`,
				k.Subject, k.Category, k.ID)
			return err
		}); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE feed_cursors SET cursor = ?, updated_at = ? WHERE provider = ? AND feed = ?`,
			int64(b.To), time.Now().UnixNano(), b.Provider, b.Feed); err != nil {
			return unavailable("applying feed", err)
		}
		applied = true
		return nil
	})
	return applied, err
}
