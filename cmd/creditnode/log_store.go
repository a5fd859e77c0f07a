package main

import (
	"context"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
)

// auditStore is what `log verify` reads: the leaf rows, the stored tree and
// the checkpoints, and the stored subject map, on either backend.
type auditStore interface {
	tlog.AuditStore
	subjectlog.AuditStore
	Close() error
}

var (
	_ auditStore = (*store.SQLite)(nil)
	_ auditStore = (*store.Postgres)(nil)
)

// openAuditStore opens the store the node's config names: sqlite:PATH or a
// postgres:// URL.
func openAuditStore(ctx context.Context, cfg *config.Config) (auditStore, error) {
	if cfg.StoreIsPostgres() {
		return store.OpenPostgres(ctx, cfg.Store)
	}
	return store.OpenSQLite(ctx, cfg.StorePath())
}

// operatorStore is what the operator's subject-rights commands use.
type operatorStore interface {
	rights.Store
	Objections(ctx context.Context, f store.RightsFilter) ([]store.Objection, error)
	Repairs(ctx context.Context, f store.RightsFilter) ([]store.Repair, error)
	Close() error
}

var (
	_ operatorStore = (*store.SQLite)(nil)
	_ operatorStore = (*store.Postgres)(nil)
)

// openOperatorStore opens the store the node's config names.
func openOperatorStore(ctx context.Context, cfg *config.Config) (operatorStore, error) {
	if cfg.StoreIsPostgres() {
		return store.OpenPostgres(ctx, cfg.Store)
	}
	return store.OpenSQLite(ctx, cfg.StorePath())
}
