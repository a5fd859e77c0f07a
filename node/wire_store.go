package node

import (
	"context"
	"log/slog"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/node/witness"
)

// Store is the node's database: the union of what Open's parts need of it,
// and of what the operator's commands (cmd/creditnode) read and write
// offline. Both backends have all of it, checked below at compile time, so
// Open asks no store at run time what it can do.
type Store interface {
	server.Store         // the provider: records, consents, requests, inquiry entries
	peer.OutboundLog     // the client's outbound entries
	LogStore             // the tamper-evident logs (wire_logs.go)
	subjectlog.Store     // the subject map and subject checkpoints (wire_witness.go)
	witness.WitnessStore // the witness's state of each peer, its alarms
	feeds.ChangeReader   // change feeds, provider side (wire_feeds.go)
	feeds.Cursors        // change feeds, subscriber side
	feeds.RecordFlagger  // objections and repairs flagged in feed batches
	remote.JobStore      // joint modelling jobs (wire_joint.go)
	remote.Requests
	remote.AggregateStore
	rights.OpenObjectionCounter // the overdue-objections metric
	internalapi.OutboundReader  // the internal API's audit search (wire_internal.go)
	records.Importer            // the internal API's records import

	InquiryLogSize(ctx context.Context) (uint64, error)
	OutboundLogSize(ctx context.Context) (uint64, error)

	// A subject's whole inquiry log (tests and tools; the provider reads it by pages).
	SubjectInquiries(ctx context.Context, subject string) ([]store.StoredLeaf, error)

	// The operator's commands: log audit, subject rights, category sweeps.
	RecordsInCategory(ctx context.Context, category string, limit int) ([]records.Record, error)
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
