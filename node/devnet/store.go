package devnet

import (
	"context"
	"fmt"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
)

// SetStore switches node id to another store, "sqlite:PATH" or a
// postgres:// URL, by rewriting its node.yaml. Call it before the node
// opens its store (and before ImportRecords) so that the node and the
// records share one database.
func (n *Network) SetStore(id, storeURL string) error {
	dir := n.NodeDir(id)
	cfg, err := config.Load(dir)
	if err != nil {
		return err
	}
	cfg.Store = storeURL
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("devnet: %s: %w", id, err)
	}
	return cfg.Save(dir)
}

// recordStore is what seeding needs of a store.
type recordStore interface {
	ImportRecords(ctx context.Context, recs []records.Record) error
	Close() error
}

// openStore opens node id's store as its config names it.
func (n *Network) openStore(ctx context.Context, id string) (recordStore, error) {
	cfg, err := config.Load(n.NodeDir(id))
	if err != nil {
		return nil, err
	}
	if cfg.StoreIsPostgres() {
		return store.OpenPostgres(ctx, cfg.Store)
	}
	return store.OpenSQLite(ctx, cfg.StorePath())
}
