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
