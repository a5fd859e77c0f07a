package node

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/server"
)

// addJointRoutes adds the joint-modelling job routes (node/joint/remote) to routes, with the
// host limits of the node's config.JointHostFile (read at start). Jobs are served from its
// config.JointFeaturesFile as it is at each proposal (joint.FileSource): a node whose file is
// written or replaced while it runs serves jobs from it without a restart; without the file a
// proposal is refused (category_unknown) and logged like any other.
func addJointRoutes(ctx context.Context, cfg *config.Config, nk *keys.NodeKeys, regs server.Registries, seq server.Sequencer,
	pol server.Decider, levels map[string]string, st Store, logger *slog.Logger, routes map[string]http.Handler) error {
	hc, err := cfg.LoadJointHost()
	if err != nil {
		return err
	}
	if hc.AllowInsecureKeySize {
		logger.LogAttrs(ctx, slog.LevelWarn, "joint modelling accepts insecure Paillier key sizes (test setting)")
	}
	hostOpts := joint.HostOptions{MinCohort: hc.MinCohort, MinBin: hc.MinBin, MaxIterations: hc.MaxIterations}
	hostOpts.KeyOptions.AllowInsecureSize = hc.AllowInsecureKeySize
	var agg *remote.AggregateOptions
	eps, err := hc.Epsilon()
	if err != nil {
		return err
	}
	if eps != nil {
		agg = &remote.AggregateOptions{Store: st, Limit: dpnoise.Budget{Epsilon: eps}}
	}
	svc, err := remote.New(remote.Options{
		ID: cfg.ID, Jurisdiction: cfg.Jurisdiction, Keys: nk, Registries: regs, Sequencer: seq, Policy: pol, Catalog: levels,
		Jobs: st, Requests: st, Data: joint.NewFileSource(cfg.Path(config.JointFeaturesFile), logger), Host: hostOpts, Aggregates: agg,
		Skew: cfg.ClockSkew.D(), Logger: logger,
	})
	if err != nil {
		return err
	}
	for pattern, h := range svc.Routes() {
		routes[pattern] = h
	}
	return nil
}

// OutboundLog is the node's outbound log, for requesters other than Client (such as joint
// modelling jobs, node/joint/remote).
func (n *Node) OutboundLog() peer.OutboundLog { return n.Logs.Outbound }

// JointClient is this node as the guest of joint modelling jobs (node/joint/remote): requests
// signed with its key, sent through its pinned mutual-TLS client and recorded in its outbound log.
func (n *Node) JointClient() *remote.Client {
	return &remote.Client{ID: n.Config.ID, Keys: n.Keys, Registries: ClientRegistries{W: n.Registry}, Sender: n.Client, Log: n.OutboundLog()}
}
