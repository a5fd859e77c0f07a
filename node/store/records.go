package store

import (
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

// The record logic both backends share: argument checks and the row scans.
// Each backend keeps its SQL text (IN (?, …) against = ANY($n)) and how it
// sends the writes.

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
