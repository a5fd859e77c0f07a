package node

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// feedStore is what change feeds need of the store, on both sides.
type feedStore interface {
	feeds.ChangeReader
	feeds.Cursors
}

// feedHandler serves this node's change feeds (node/feeds) at feeds.Route,
// deciding each delivery with the policy in force and logging it in the
// inquiry log through the sequencer.
func feedHandler(cfg *config.Config, nk *keys.NodeKeys, regs server.Registries, st Store, seq server.Sequencer,
	pol *policy.Holder, levels map[string]string, logger *slog.Logger) (http.Handler, error) {
	fs, ok := st.(feedStore)
	if !ok {
		return nil, errors.New("node: the store has no change feeds")
	}
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, err
	}
	flags, _ := st.(feeds.RecordFlagger) // both backends have subject rights
	p, err := feeds.NewProvider(feeds.ProviderOptions{
		ID: cfg.ID, Jurisdiction: cfg.Jurisdiction, Keys: nk, Registries: regs, Changes: fs, Log: seq,
		Policy: pol, Levels: levels, Rights: flags, Negative: cv, Skew: cfg.ClockSkew.D(), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return p.Handler(), nil
}

// Subscriber returns this node's feed subscriber: it pulls over the node's
// client and applies batches to the node's store.
func (n *Node) Subscriber() (*feeds.Subscriber, error) {
	fs, ok := n.Store.(feedStore)
	if !ok {
		return nil, errors.New("node: the store has no change feeds")
	}
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, err
	}
	return &feeds.Subscriber{ID: n.Config.ID, Keys: n.Keys, Registries: Registries{W: n.Registry}, Poster: n.Client,
		Store: fs, Validator: v}, nil
}
