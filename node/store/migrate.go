package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one versioned schema change, read from
// migrations/<backend>/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// loadMigrations reads the migrations in dir, in version order. Versions must
// start at 1 and be contiguous, so a missing or duplicated file is caught
// when the binary starts rather than half-way through an upgrade.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("store: reading migrations: %w", err)
	}
	var out []migration
	for _, e := range entries { // ReadDir returns entries sorted by name
		m := migrationName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			return nil, fmt.Errorf("store: unexpected migration file %q", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(out)+1 {
			return nil, fmt.Errorf("store: migration %q: want version %d", e.Name(), len(out)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: reading migration %q: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: no migrations in %s", dir)
	}
	return out, nil
}

// migrateSQLite applies the migrations not yet recorded in schema_migrations,
// each in its own immediate transaction (db must begin transactions with
// BEGIN IMMEDIATE), so two processes opening the same file cannot both apply
// one. A database with a version this binary does not know is refused.
func migrateSQLite(ctx context.Context, db *sql.DB, ms []migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return unavailable("creating schema_migrations", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return unavailable("reading schema version", err)
	}
	if current > len(ms) {
		return fmt.Errorf("store: database schema version %d is newer than this binary's %d", current, len(ms))
	}
	for _, m := range ms[current:] {
		if err := applyMigration(ctx, db, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("beginning migration", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var applied bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.version).Scan(&applied); err != nil {
		return unavailable("reading schema version", err)
	}
	if applied { // another process got there first
		return tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return unavailable("applying migration "+m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return unavailable("recording migration", err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable("committing migration", err)
	}
	return nil
}
