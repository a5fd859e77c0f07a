package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// How a row becomes a value is written once, against the small interfaces
// below, which both drivers' rows satisfy.

// rowScanner is one result row: *sql.Row and *sql.Rows (SQLite), pgx.Row and
// pgx.Rows (PostgreSQL) all satisfy it.
type rowScanner interface {
	Scan(dest ...any) error
}

// rowIter is a result set being read: pgx.Rows as it is, *sql.Rows through
// sqlRows (its Close returns an error, pgx's does not).
type rowIter interface {
	rowScanner
	Next() bool
	Err() error
	Close()
}

// sqlRowIter is *sql.Rows as a rowIter.
type sqlRowIter struct{ *sql.Rows }

func (r sqlRowIter) Close() { _ = r.Rows.Close() }

// sqlRows adapts the results of QueryContext for the shared readers, so that
// a call reads readX(sqlRows(db.QueryContext(…))).
func sqlRows(rows *sql.Rows, err error) (rowIter, error) {
	if err != nil {
		return nil, err
	}
	return sqlRowIter{rows}, nil
}

var (
	_ rowIter    = sqlRowIter{}
	_ rowIter    = pgx.Rows(nil)
	_ rowScanner = (*sql.Row)(nil)
	_ rowScanner = pgx.Row(nil)
)

// eachRow reads every row of rows with scan and passes the value to fn,
// stopping at fn's first error, which it returns unchanged. A failed query
// (err), scan or iteration is ErrUnavailable for op. rows is closed.
func eachRow[T any](rows rowIter, err error, op string, scan func(rowScanner) (T, error), fn func(T) error) error {
	if err != nil {
		return unavailable(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return unavailable(op, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable(op, err)
	}
	return nil
}

// collect is eachRow gathering the values in order (nil for no rows).
func collect[T any](rows rowIter, err error, op string, scan func(rowScanner) (T, error)) ([]T, error) {
	var out []T
	if err := eachRow(rows, err, op, scan, func(v T) error {
		out = append(out, v)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// isNoRows reports whether err is either driver's "no rows in result set".
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows)
}

// unixTime is a stored time (nanoseconds since the epoch) in UTC.
func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// nullUnixTime is a nullable stored time: the zero time for NULL.
func nullUnixTime(ns *int64) time.Time {
	if ns == nil {
		return time.Time{}
	}
	return unixTime(*ns)
}
