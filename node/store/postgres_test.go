package store_test

import (
	"context"
	"testing"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/node/store/storetest"
)

var _ storetest.Backend = (*store.Postgres)(nil)

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		url := pgtest.Schema(t)
		return func(ctx context.Context) (storetest.Backend, error) {
			return store.OpenPostgres(ctx, url)
		}
	})
}

// postgresDB creates a schema per test, reopened by every call.
func postgresDB(t *testing.T) func(context.Context) (*store.Postgres, error) {
	url := pgtest.Schema(t)
	return func(ctx context.Context) (*store.Postgres, error) { return store.OpenPostgres(ctx, url) }
}

// TestPostgresFeatures runs every feature suite on PostgreSQL.
func TestPostgresFeatures(t *testing.T) { storetest.RunFeatures(t, postgresDB) }
