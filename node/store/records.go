package store

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/creditexchange/node/node/records"
)

// maxCategories bounds the categories one Records or RecordsInCategories
// call may ask for (SQLite limits the bound parameters of one statement;
// PostgreSQL has the same bound, so both refuse alike).
const maxCategories = 1000

// maxCategoryRecords bounds what one RecordsInCategory call returns.
const maxCategoryRecords = 100000

// validateImport checks the records of an ImportRecords call.
func validateImport(recs []records.Record) error {
	for i := range recs {
		r := &recs[i]
		if r.Subject == "" || r.Category == "" || r.ID == "" {
			return invalid("record %d: empty subject, category or id", i)
		}
		if len(r.Data) == 0 {
			return invalid("record %d: empty data", i)
		}
	}
	return nil
}

// sortedCategories is the sorted, deduplicated list of categories a query
// reads (nil: nothing to read), at most maxCategories of them.
func sortedCategories(categories []string) ([]string, error) {
	cats := slices.Compact(slices.Sorted(slices.Values(categories)))
	if len(cats) == 0 {
		return nil, nil
	}
	if len(cats) > maxCategories {
		return nil, invalid("%d categories, at most %d", len(cats), maxCategories)
	}
	return cats, nil
}

// categoryLimit checks the category of a per-category read and bounds its
// limit: limit ≤ 0 or above most means most.
func categoryLimit(category string, limit, most int) (int, error) {
	if category == "" {
		return 0, invalid("empty category")
	}
	if limit <= 0 || limit > most {
		limit = most
	}
	return limit, nil
}

// readRecords reads rows of the key columns key names (pointers into the
// record, which starts as tmpl: the key fields the query fixed) followed by
// data and updated_at.
func readRecords(rows rowIter, err error, tmpl records.Record, key func(*records.Record) []any) ([]records.Record, error) {
	return collect(rows, err, "reading records", func(row rowScanner) (records.Record, error) {
		r := tmpl
		var data []byte
		var updated int64
		if err := row.Scan(append(key(&r), &data, &updated)...); err != nil {
			return records.Record{}, err
		}
		r.Data, r.UpdatedAt = json.RawMessage(data), unixTime(updated)
		return r, nil
	})
}

// readFullRecords reads rows of (subject, category, id, data, updated_at).
func readFullRecords(rows rowIter, err error) ([]records.Record, error) {
	return readRecords(rows, err, records.Record{}, func(r *records.Record) []any {
		return []any{&r.Subject, &r.Category, &r.ID}
	})
}

// readSubjectRecords reads rows of (category, id, data, updated_at), all of
// subject.
func readSubjectRecords(rows rowIter, err error, subject string) ([]records.Record, error) {
	return readRecords(rows, err, records.Record{Subject: subject}, func(r *records.Record) []any {
		return []any{&r.Category, &r.ID}
	})
}

// readCategoryRecords reads rows of (subject, id, data, updated_at), all of
// category.
func readCategoryRecords(rows rowIter, err error, category string) ([]records.Record, error) {
	return readRecords(rows, err, records.Record{Category: category}, func(r *records.Record) []any {
		return []any{&r.Subject, &r.ID}
	})
}

// upsertRecordSQL inserts or replaces one record, keyed by (subject,
// category, id).
const upsertRecordSQL = `INSERT INTO records (subject, category, id, data, updated_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (subject, category, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`

// ImportRecords inserts or replaces recs, keyed by (subject, category, id),
// in one transaction: either every record is stored or none is. A record with
// an empty key field fails the whole import with ErrInvalid.
func (s *ops) ImportRecords(ctx context.Context, recs []records.Record) error {
	if err := validateImport(recs); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	return s.d.transact(ctx, "importing records", func(tx conn) error {
		return s.d.execBatch(ctx, tx, "importing records", upsertRecordSQL, len(recs), func(i int) []any {
			r := &recs[i]
			return []any{r.Subject, r.Category, r.ID, []byte(r.Data), r.UpdatedAt.UnixNano()}
		})
	})
}

// Records returns the subject's records in the given categories, ordered by
// category then id. Only the listed categories are read: an empty list
// returns no records, so a caller that forgot to filter gets nothing rather
// than everything.
func (s *ops) Records(ctx context.Context, subject string, categories []string) ([]records.Record, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	cats, err := sortedCategories(categories)
	if err != nil || cats == nil {
		return nil, err
	}
	cond, args := anyOf(s.d, "category", cats)
	rows, err := s.d.reader().query(ctx, `SELECT category, id, data, updated_at FROM records
		WHERE subject = ? AND `+cond+` ORDER BY category, id`, append([]any{subject}, args...)...)
	return readSubjectRecords(rows, err, subject)
}

// RecordsInCategory returns every subject's records of one category, ordered
// by subject then id, at most limit of them (limit ≤ 0 or above 100000 means
// 100000). For sweeps over a category (overdue commitments).
func (s *ops) RecordsInCategory(ctx context.Context, category string, limit int) ([]records.Record, error) {
	limit, err := categoryLimit(category, limit, maxCategoryRecords)
	if err != nil {
		return nil, err
	}
	rows, err := s.d.reader().query(ctx, `SELECT subject, id, data, updated_at FROM records
		WHERE category = ? ORDER BY subject, id LIMIT ?`, category, limit)
	return readCategoryRecords(rows, err, category)
}
