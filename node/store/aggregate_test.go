package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/node/store/storetest"
)

var (
	_ storetest.AggregateBackend = (*store.SQLite)(nil)
	_ storetest.AggregateBackend = (*store.Postgres)(nil)
)

// TestSQLiteAggregate: the second handle of a race is a second *SQLite on the same file.
func TestSQLiteAggregate(t *testing.T) {
	storetest.RunAggregate(t, func(t *testing.T) storetest.AggregateOpener {
		path := filepath.Join(t.TempDir(), "node.db")
		return func(ctx context.Context) (storetest.AggregateBackend, error) {
			return store.OpenSQLite(ctx, path)
		}
	})
}

// TestPostgresAggregate: the second handle of a race is a second *Postgres (its own pool) on
// the same schema.
func TestPostgresAggregate(t *testing.T) {
	storetest.RunAggregate(t, func(t *testing.T) storetest.AggregateOpener {
		url := pgtest.Schema(t)
		return func(ctx context.Context) (storetest.AggregateBackend, error) {
			return store.OpenPostgres(ctx, url)
		}
	})
}
