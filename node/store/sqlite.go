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
	// Each pool's prepared statements.
	ws, rs *sqlStatements
	ops
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
	s := &SQLite{w: w, r: r, ws: newSQLStatements(w), rs: newSQLStatements(r)}
	s.ops = ops{d: s}
	return s, nil
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
	return errors.Join(s.rs.close(), s.ws.close(), s.r.Close(), s.w.Close())
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
	if s.ws.hasPending() {
		s.ws.preparePending(context.WithoutCancel(ctx))
	}
	return nil
}

// SQLite as a dialect. Its one writer connection, each transaction begun
// with BEGIN IMMEDIATE, excludes every other writer on the file (in this
// process or another) for the whole transaction: what PostgreSQL gets from
// locks, SQLite gets from that, so it takes none.

func (s *SQLite) reader() conn { return sqlConn{c: s.r, stmts: s.rs} }
func (s *SQLite) writer() conn { return sqlConn{c: s.w, stmts: s.ws} }

func (s *SQLite) transact(ctx context.Context, op string, fn func(tx conn) error) error {
	return s.inWriteTx(ctx, op, func(tx *sql.Tx) error { return fn(sqlConn{c: tx, tx: tx, stmts: s.ws}) })
}

// snapshot is a transaction on a read-only connection: WAL gives it one
// snapshot from its first read on.
func (s *SQLite) snapshot(ctx context.Context, op string, fn func(tx conn) error) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(op, err)
	}
	err = fn(sqlConn{c: tx, tx: tx, stmts: s.rs})
	tx.Rollback()
	if s.rs.hasPending() {
		s.rs.preparePending(context.WithoutCancel(ctx))
	}
	return err
}

func (s *SQLite) serialise(context.Context, conn, string, string, ...any) error { return nil }

func (s *SQLite) rowLock(string) string { return "" }

// nextIndex is one past the largest index stored, read inside the write
// transaction: the single writer makes that safe. Rows are never deleted, so
// the indexes stay dense and a crash can never hand one out twice.
func (s *SQLite) nextIndex(ctx context.Context, tx conn, table string) (uint64, error) {
	var next int64
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM `+table).Scan(&next); err != nil {
		return 0, unavailable("reading "+table+" size", err)
	}
	return uint64(next), nil
}

// inList spells out one parameter per value: SQLite has no array type.
func (s *SQLite) inList(col string, n int) (string, bool) {
	return col + " IN (?" + strings.Repeat(", ?", n-1) + ")", false
}

// execBatch prepares q once and runs it per argument list: the database is
// in the process, so there are no round trips to save.
func (s *SQLite) execBatch(ctx context.Context, tx conn, op, q string, n int, args func(i int) []any) error {
	stx := tx.(sqlConn).c.(*sql.Tx)
	stmt, err := stx.PrepareContext(ctx, q)
	if err != nil {
		return unavailable(op, err)
	}
	defer stmt.Close()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
			return unavailable(op, err)
		}
	}
	return nil
}

// insertRows is a prepared INSERT run per row (see execBatch).
func (s *SQLite) insertRows(ctx context.Context, tx conn, op, table string, cols []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	q := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	return s.execBatch(ctx, tx, op, q, n, row)
}

func (s *SQLite) bytewise() string { return "BINARY" }

// allowedQueriesSQL reads the entry's JSON with json_extract; the index
// inquiry_log_subject_time narrows the rows first.
func (s *SQLite) allowedQueriesSQL() string {
	return `SELECT COUNT(*), MIN(time) FROM inquiry_log
		WHERE subject = ? AND time >= ?
		  AND json_extract(entry, '$.kind') = 'query'
		  AND json_extract(entry, '$.decision') = 'allow'
		  AND json_extract(entry, '$.requester') = ?
		  AND json_extract(entry, '$.purpose') = ?`
}
