package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the server backend: a pgx connection pool on a PostgreSQL
// database, with the same methods and guarantees as [SQLite].
//
// All objects live in the first schema of the connection's search_path, so
// several nodes can share one database, one schema each. Every connection
// runs with synchronous_commit=on, so a transaction is durable (on the
// server's disk, and on its synchronous standbys if it has any) when its
// commit returns, whatever the server's default.
//
// Writers run concurrently at READ COMMITTED. What SQLite gets from its one
// write lock is made explicit here:
//   - log indexes: each log has a head row in log_heads that a writer
//     increments first, row-locking it until commit, so appends to one log
//     are serialised and an index is never handed out twice or skipped;
//   - consents: a consumption and a revocation of the same consent id take
//     the same transaction-scoped advisory lock, so a revocation that has
//     returned is seen by every later consumption;
//   - request ids: the primary key, with ON CONFLICT DO NOTHING, makes the
//     second of two concurrent duplicates wait for the first and then see it.
//
// A Postgres is safe for concurrent use.
type Postgres struct {
	pool  *pgxpool.Pool
	stmts *pgStatements
	ops
}

// OpenPostgres connects to the database at url (postgres:// or
// postgresql://, with any libpq parameters such as sslmode or search_path)
// and brings its schema up to date. A connection failure is ErrUnavailable.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	if !IsPostgresURL(url) {
		return nil, invalid("postgres url %q: want postgres:// or postgresql://", redactURL(url))
	}
	ms, err := loadMigrations(migrationFiles, "migrations/postgres")
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, invalid("postgres url %q: %v", redactURL(url), err)
	}
	// Durability is not left to the server's configuration.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "creditnode"
	}
	// A dead connection (server restarted, backend terminated) is found by
	// the health check or by the failing call, and replaced.
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable("opening database", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, unavailable("opening database", err)
	}
	if err := migratePostgres(ctx, pool, ms); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Postgres{pool: pool, stmts: &pgStatements{}}
	s.ops = ops{d: s}
	return s, nil
}

// IsPostgresURL reports whether s names a PostgreSQL database.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// redactURL drops the password from a database URL, for error messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// Close closes the pool, waiting for connections in use to be returned.
// Calls after Close fail with ErrUnavailable.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Postgres) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// inTx runs fn in one transaction and commits it; any error from fn rolls
// the transaction back and is returned unchanged, so sentinels such as
// ErrReplay reach the caller as they are.
func (s *Postgres) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return unavailable(op, err)
	}
	if err := fn(tx); err != nil {
		// Rollback uses its own context: a cancelled ctx must not leave the
		// connection in a transaction (pgx closes it then anyway).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = tx.Rollback(rctx)
		cancel()
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return unavailable(op, err)
	}
	return nil
}

// migratePostgres applies the migrations not yet recorded in
// schema_migrations, each in its own transaction holding an advisory lock
// keyed by the schema, so two nodes starting on the same schema cannot both
// apply one. PostgreSQL DDL is transactional: a failed migration leaves
// nothing behind. A database with a version this binary does not know is
// refused.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, ms []migration) error {
	for {
		done, err := migrateOne(ctx, pool, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending migration, reporting done when there
// is none.
func migrateOne(ctx context.Context, pool *pgxpool.Pool, ms []migration) (done bool, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, unavailable("beginning migration", err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return false, unavailable("reading current schema", err)
	}
	if schema == nil {
		return false, fmt.Errorf("%w: no schema of the search_path exists", ErrInvalid)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "creditnode migrations "+*schema); err != nil {
		return false, unavailable("locking schema", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return false, unavailable("creating schema_migrations", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, unavailable("reading schema version", err)
	}
	if current > len(ms) {
		return false, fmt.Errorf("store: database schema version %d is newer than this binary's %d", current, len(ms))
	}
	if current == len(ms) {
		return true, nil
	}
	m := ms[current]
	if _, err := tx.Exec(ctx, m.sql); err != nil { // no arguments: simple protocol, several statements
		return false, unavailable("applying migration "+m.name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return false, unavailable("recording migration", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, unavailable("committing migration", err)
	}
	return false, nil
}

// errNoRows reports whether err is pgx's "no rows in result set".
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// Postgres as a dialect. Writers run concurrently at READ COMMITTED, so what
// SQLite's single writer gives is taken explicitly: the log heads, advisory
// locks and row locks named where each operation takes them.

func (s *Postgres) reader() conn { return pgConn{s.pool, s.stmts} }
func (s *Postgres) writer() conn { return pgConn{s.pool, s.stmts} }

func (s *Postgres) transact(ctx context.Context, op string, fn func(tx conn) error) error {
	return s.inTx(ctx, op, func(tx pgx.Tx) error { return fn(pgConn{tx, s.stmts}) })
}

// snapshot is a read-only REPEATABLE READ transaction: at READ COMMITTED
// each statement would see its own snapshot.
func (s *Postgres) snapshot(ctx context.Context, op string, fn func(tx conn) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return unavailable(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return fn(pgConn{tx, s.stmts})
}

func (s *Postgres) serialise(ctx context.Context, tx conn, op, q string, args ...any) error {
	if _, err := tx.exec(ctx, q, args...); err != nil {
		return unavailable(op, err)
	}
	return nil
}

func (s *Postgres) rowLock(clause string) string { return clause }

// nextIndex reserves the next index of table by growing its head, which
// row-locks the head until the transaction ends: concurrent appenders queue
// here, and a rollback gives the index back. Every writer of a log takes its
// head before any other lock, so locks are always taken in one order (a
// resolution holding an objection's row while waiting for the head, against
// a filing holding the head while its insert waits for that row, would
// deadlock).
func (s *Postgres) nextIndex(ctx context.Context, tx conn, table string) (uint64, error) {
	var next int64
	err := tx.queryRow(ctx, `UPDATE log_heads SET size = size + 1 WHERE log = ? RETURNING size - 1`, table).Scan(&next)
	if errNoRows(err) {
		return 0, unavailable("reserving "+table+" index", fmt.Errorf("log head of %s missing", table))
	}
	if err != nil {
		return 0, unavailable("reserving "+table+" index", err)
	}
	return uint64(next), nil
}

// inList binds the values as one array: one prepared statement serves every
// length.
func (s *Postgres) inList(col string, _ int) (string, bool) { return col + " = ANY(?)", true }

// execBatch sends the statements as one pipelined batch: one round trip.
func (s *Postgres) execBatch(ctx context.Context, tx conn, op, q string, n int, args func(i int) []any) error {
	ptx := tx.(pgConn).c.(pgx.Tx)
	var b pgx.Batch
	text := s.stmts.text(q)
	for i := range n {
		b.Queue(text, args(i)...)
	}
	if err := ptx.SendBatch(ctx, &b).Close(); err != nil {
		return unavailable(op, err)
	}
	return nil
}

// insertRows is COPY: one round trip for any number of rows.
func (s *Postgres) insertRows(ctx context.Context, tx conn, op, table string, cols []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	ptx := tx.(pgConn).c.(pgx.Tx)
	if _, err := ptx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return row(i), nil
	})); err != nil {
		return unavailable(op, err)
	}
	return nil
}

// bytewise is "C": the database's default collation may follow a locale.
func (s *Postgres) bytewise() string { return `"C"` }

// allowedQueriesSQL reads the entry (canonical JSON in a BYTEA column) as
// jsonb, converting each row of the subject's period once.
func (s *Postgres) allowedQueriesSQL() string {
	return `SELECT COUNT(*), MIN(l.time) FROM (
			SELECT time, convert_from(entry, 'UTF8')::jsonb AS e FROM inquiry_log
			WHERE subject = ? AND time >= ?
		) l
		WHERE l.e ->> 'kind' = 'query' AND l.e ->> 'decision' = 'allow' AND l.e ->> 'requester' = ?
		  AND l.e ->> 'purpose' = ?`
}
