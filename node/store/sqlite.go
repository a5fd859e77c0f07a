package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeoutMS is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY. Within one process writes queue on the
// single writer connection instead.
const busyTimeoutMS = 5000

// SQLite is the embedded backend: one database file in WAL mode with
// synchronous=FULL, so a transaction is on disk when its commit returns.
//
// Writes go through a single connection that begins every transaction with
// BEGIN IMMEDIATE, taking SQLite's one write lock up front (no SQLITE_BUSY
// from a read lock upgraded mid-transaction); concurrent writers queue on it.
// Reads use a separate pool of read-only connections, which WAL lets run
// alongside the writer.
//
// An SQLite is safe for concurrent use.
type SQLite struct {
	w *sql.DB // exactly one connection
	r *sql.DB // query_only connections
}

// OpenSQLite opens (creating if needed) the database file at path and brings
// its schema up to date. path must be a file system path: in-memory
// databases and file: URIs are refused, since they would bypass the
// durability settings.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") || strings.HasPrefix(path, ":memory:") {
		return nil, invalid("sqlite path %q: want a plain file path", path)
	}
	ms, err := loadMigrations(migrationFiles, "migrations/sqlite")
	if err != nil {
		return nil, err
	}

	w, err := openPool(path, false, 1)
	if err != nil {
		return nil, err
	}
	// The writer is opened and migrated first: it alone switches a new file
	// to WAL and creates the tables.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, unavailable("opening database", err)
	}
	if err := migrateSQLite(ctx, w, ms); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openPool(path, true, max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		w.Close()
		return nil, err
	}
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, unavailable("opening database", err)
	}
	return &SQLite{w: w, r: r}, nil
}

// openPool opens a database/sql pool on path whose every connection gets the
// node's pragmas. modernc.org/sqlite applies the DSN parameters to each new
// connection (see applyQueryParams in its sqlite.go); synchronous and
// foreign_keys are per-connection settings, so they must be set this way
// rather than once.
func openPool(path string, readOnly bool, conns int) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMS))
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "FULL")
	if readOnly {
		q.Set("_query_only", "on")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, unavailable("opening database", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Close closes both connection pools. Calls after Close fail with
// ErrUnavailable.
func (s *SQLite) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping checks that the database answers on both the writer and the readers.
func (s *SQLite) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return unavailable("ping", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// inWriteTx runs fn in one write transaction on the writer connection and
// commits it; any error from fn rolls the transaction back and is returned
// unchanged, so sentinels such as ErrReplay reach the caller as they are.
func (s *SQLite) inWriteTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(op, err)
	}
	return nil
}
