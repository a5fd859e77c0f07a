package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Every operation of the store is written once, in ops, against two small
// interfaces: conn, a transaction or a pool of either backend on which
// statements run, and dialect, the few things the backends do differently.
// Statements are written with ? placeholders; the PostgreSQL conn rewrites
// them to $1, $2, … the first time it sees each statement.

// conn runs statements: a transaction, or a pool for reads and single
// statements. SQLite's is *sql.Tx or *sql.DB (sqlConn), PostgreSQL's
// pgx.Tx or *pgxpool.Pool (pgConn).
type conn interface {
	// exec runs a statement and returns how many rows it affected.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rowIter, error)
	queryRow(ctx context.Context, q string, args ...any) rowScanner
}

// dialect is what the backends do differently. Each method says why where it
// is implemented (sqlite.go, postgres.go).
type dialect interface {
	// reader runs reads outside a transaction; writer runs one write
	// statement on its own.
	reader() conn
	writer() conn
	// transact runs fn in one write transaction and commits it; an error
	// from fn rolls it back and is returned unchanged.
	transact(ctx context.Context, op string, fn func(tx conn) error) error
	// snapshot runs fn in one read-only transaction that sees one snapshot.
	snapshot(ctx context.Context, op string, fn func(tx conn) error) error

	// serialise runs a locking statement (an advisory lock, LOCK TABLE) on
	// PostgreSQL, whose writers run concurrently; on SQLite, whose one write
	// transaction at a time already excludes every other writer, it does
	// nothing.
	serialise(ctx context.Context, tx conn, op, q string, args ...any) error
	// rowLock is clause (" FOR UPDATE", " FOR KEY SHARE") on PostgreSQL and
	// "" on SQLite, which has no row locks and needs none (see serialise).
	rowLock(clause string) string
	// nextIndex reserves the index the next leaf of table gets.
	nextIndex(ctx context.Context, tx conn, table string) (uint64, error)
	// inList is the condition "col is one of n parameters" and whether
	// the values are bound as one array parameter (see anyOf).
	inList(col string, n int) (cond string, array bool)
	// execBatch runs q once per argument list, inside tx.
	execBatch(ctx context.Context, tx conn, op, q string, n int, args func(i int) []any) error
	// insertRows inserts n rows of cols into table, inside tx.
	insertRows(ctx context.Context, tx conn, op, table string, cols []string, n int, row func(i int) []any) error
	// bytewise names the collation that orders text bytewise.
	bytewise() string
	// allowedQueriesSQL counts a requester's allowed queries about a
	// subject for a purpose since a time, and the time of the oldest
	// (parameters subject, since, requester, purpose): reading the JSON of
	// a log entry is dialect-specific.
	allowedQueriesSQL() string
}

// ops is the store's operations, written once; SQLite and Postgres embed it
// with themselves as its dialect, so its methods are theirs.
type ops struct{ d dialect }

// anyOf is the condition "col is one of vals" and its arguments: one
// parameter per value on SQLite, one array parameter on PostgreSQL (so one
// prepared statement serves every length).
func anyOf[T any](d dialect, col string, vals []T) (string, []any) {
	cond, array := d.inList(col, len(vals))
	if array {
		return cond, []any{vals}
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return cond, args
}

// exists runs q, a SELECT EXISTS (…), on c; a failure is ErrUnavailable
// for op.
func exists(ctx context.Context, c conn, op, q string, args ...any) (bool, error) {
	var ok bool
	if err := c.queryRow(ctx, q, args...).Scan(&ok); err != nil {
		return false, unavailable(op, err)
	}
	return ok, nil
}

// sqlRunner is *sql.DB or *sql.Tx.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlConn is a database/sql pool or transaction as a conn (SQLite). With
// stmts, statements run prepared from the pool's cache; tx is the
// transaction c is, if it is one.
type sqlConn struct {
	c     sqlRunner
	tx    *sql.Tx
	stmts *sqlStatements
}

// prepared is the statement for q on c, or nil to run q unprepared.
func (c sqlConn) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if c.stmts == nil {
		return nil, nil
	}
	st, err := c.stmts.get(ctx, q, c.tx != nil)
	if err != nil || st == nil {
		return nil, err
	}
	if c.tx != nil {
		return c.tx.StmtContext(ctx, st), nil // reuses the statement prepared on the transaction's connection
	}
	return st, nil
}

func (c sqlConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	st, err := c.prepared(ctx, q)
	if err != nil {
		return 0, err
	}
	var res sql.Result
	if st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = c.c.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqlConn) query(ctx context.Context, q string, args ...any) (rowIter, error) {
	st, err := c.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return sqlRows(st.QueryContext(ctx, args...))
	}
	return sqlRows(c.c.QueryContext(ctx, q, args...))
}

func (c sqlConn) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	st, err := c.prepared(ctx, q)
	if err != nil {
		return errRow{err}
	}
	if st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.c.QueryRowContext(ctx, q, args...)
}

// errRow is a row whose statement could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// sqlStatements are one pool's prepared statements, by text, so that SQLite
// parses a statement once per connection rather than on every call (its
// parser and sqlite3LockAndPrepare were ≈10% of a node's CPU under load,
// issue 16). A statement is prepared on the pool, which takes a connection:
// inside a transaction, which holds one (the writer pool has only that
// one), a statement seen for the first time runs unprepared and is prepared
// once the transaction ends (preparePending). Texts that vary (an IN list
// of n parameters, a search's filters) are few; past maxCachedStatements,
// statements run unprepared.
type sqlStatements struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

const maxCachedStatements = 512

func newSQLStatements(db *sql.DB) *sqlStatements {
	return &sqlStatements{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns q prepared on the pool, or nil to run it unprepared: the
// cache is full, or q is new and inTx (it is prepared after the
// transaction). The lock is never held while preparing, which waits for a
// connection another goroutine's transaction may hold.
func (c *sqlStatements) get(ctx context.Context, q string, inTx bool) (*sql.Stmt, error) {
	c.mu.Lock()
	if st, ok := c.m[q]; ok {
		c.mu.Unlock()
		return st, nil
	}
	full := len(c.m)+len(c.pending) >= maxCachedStatements
	if !full && inTx {
		c.pending[q] = true
	}
	c.mu.Unlock()
	if full || inTx {
		return nil, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return c.keep(q, st), nil
}

// keep caches st for q, or closes it if another goroutine cached q first,
// and returns the cached statement.
func (c *sqlStatements) keep(q string, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		st.Close()
		return prev
	}
	c.m[q] = st
	return st
}

// preparePending prepares the statements first seen inside a transaction;
// one that fails to prepare is left to run unprepared.
func (c *sqlStatements) preparePending(ctx context.Context) {
	c.mu.Lock()
	var qs []string
	for q := range c.pending {
		qs = append(qs, q)
		delete(c.pending, q)
	}
	c.mu.Unlock()
	for _, q := range qs {
		if st, err := c.db.PrepareContext(ctx, q); err == nil {
			c.keep(q, st)
		}
	}
}

// hasPending reports whether statements wait to be prepared.
func (c *sqlStatements) hasPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) > 0
}

// close closes every prepared statement.
func (c *sqlStatements) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// pgRunner is *pgxpool.Pool or pgx.Tx.
type pgRunner interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgConn is a pgx pool or transaction as a conn, rewriting placeholders
// through its store's statement cache.
type pgConn struct {
	c     pgRunner
	stmts *pgStatements
}

func (c pgConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.c.Exec(ctx, c.stmts.text(q), args...)
	return tag.RowsAffected(), err
}

func (c pgConn) query(ctx context.Context, q string, args ...any) (rowIter, error) {
	return c.c.Query(ctx, c.stmts.text(q), args...)
}

func (c pgConn) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return c.c.QueryRow(ctx, c.stmts.text(q), args...)
}

// pgStatements holds each statement's PostgreSQL text, rewritten once on
// first use. The statements are the store's own (a table name or a
// dialect's condition spliced in at most), so the set is small and bounded.
type pgStatements struct{ m sync.Map } // string → string

func (p *pgStatements) text(q string) string {
	if t, ok := p.m.Load(q); ok {
		return t.(string)
	}
	t := pgPlaceholders(q)
	p.m.Store(q, t)
	return t
}

// pgPlaceholders rewrites the ? placeholders of q to $1, $2, … in order,
// leaving string literals, quoted identifiers and comments as they are. A
// statement written for PostgreSQL alone must not use the jsonb operators
// spelt with ?.
func pgPlaceholders(q string) string {
	if !strings.ContainsRune(q, '?') {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; c {
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case '\'', '"':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
			continue
		case '-':
			if i+1 < len(q) && q[i+1] == '-' {
				end := strings.IndexByte(q[i:], '\n')
				if end < 0 {
					b.WriteString(q[i:])
					return b.String()
				}
				b.WriteString(q[i : i+end])
				i += end - 1
				continue
			}
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
