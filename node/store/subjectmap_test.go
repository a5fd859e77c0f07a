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
	_ storetest.SubjectMapBackend = (*store.SQLite)(nil)
	_ storetest.SubjectMapBackend = (*store.Postgres)(nil)
)

func TestSQLiteSubjectMap(t *testing.T) {
	storetest.RunSubjectMap(t, func(t *testing.T) storetest.SubjectMapOpener {
		path := filepath.Join(t.TempDir(), "node.db")
		return func(ctx context.Context) (storetest.SubjectMapBackend, error) {
			return store.OpenSQLite(ctx, path)
		}
	})
}

func TestPostgresSubjectMap(t *testing.T) {
	storetest.RunSubjectMap(t, func(t *testing.T) storetest.SubjectMapOpener {
		url := pgtest.Schema(t)
		return func(ctx context.Context) (storetest.SubjectMapBackend, error) {
			return store.OpenPostgres(ctx, url)
		}
	})
}
