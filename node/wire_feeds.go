package node

import (
	"log/slog"
	"net/http"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/schemas"
)

// feedHandler serves this node's change feeds (node/feeds) at feeds.Route,
// deciding each delivery with the policy in force and logging it in the
// inquiry log through the sequencer.
func feedHandler(cfg *config.Config, nk *keys.NodeKeys, regs server.Registries, st Store, seq server.Sequencer,
	pol server.Decider, levels map[string]string, logger *slog.Logger) (http.Handler, error) {
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, err
	}
	p, err := feeds.NewProvider(feeds.ProviderOptions{
		ID: cfg.ID, Jurisdiction: cfg.Jurisdiction, Keys: nk, Registries: regs, Changes: st, Log: seq,
		Policy: pol, Levels: levels, Rights: st, Negative: cv, Skew: cfg.ClockSkew.D(), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return p.Handler(), nil
}

// Subscriber returns this node's feed subscriber: it pulls over the node's
// client and applies batches to the node's store.
func (n *Node) Subscriber() (*feeds.Subscriber, error) {
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, err
	}
	return &feeds.Subscriber{ID: n.Config.ID, Keys: n.Keys, Registries: Registries{W: n.Registry}, Poster: n.Client,
		Store: n.Store, Validator: v}, nil
}
