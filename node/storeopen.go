package node

import (
	"context"
	"log/slog"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
)

// Store is the node's database as the node uses it: what the provider and
// the client need, plus log sizes for operations, and what the operator's
// commands (cmd/creditnode) read and write offline: the logs' leaves, trees
// and subject map for an audit, and subjects' objections and repairs. Both
// *store.SQLite and *store.Postgres satisfy it.
type Store interface {
	server.Store
	peer.OutboundLog
	InquiryLogSize(ctx context.Context) (uint64, error)
	OutboundLogSize(ctx context.Context) (uint64, error)

	tlog.AuditStore
	subjectlog.AuditStore
	rights.Store
	Objections(ctx context.Context, f store.RightsFilter) ([]store.Objection, error)
	Repairs(ctx context.Context, f store.RightsFilter) ([]store.Repair, error)

	Close() error
}

var (
	_ Store = (*store.SQLite)(nil)
	_ Store = (*store.Postgres)(nil)
)

// OpenStore opens the backend the config names: sqlite:PATH or a
// postgres:// URL. Open uses it, and so do the operator's commands that work
// on a node's database without starting the node.
func OpenStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (Store, error) {
	if cfg.StoreIsPostgres() {
		st, err := store.OpenPostgres(ctx, cfg.Store)
		if err != nil {
			return nil, err
		}
		logger.LogAttrs(ctx, slog.LevelInfo, "store opened", slog.String("backend", "postgres"),
			slog.String("url", cfg.RedactedStore()))
		return st, nil
	}
	st, err := store.OpenSQLite(ctx, cfg.StorePath())
	if err != nil {
		return nil, err
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "store opened", slog.String("backend", "sqlite"),
		slog.String("path", cfg.StorePath()))
	return st, nil
}
