package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
)

// Logs are the node's two tamper-evident logs: the provider's inquiry log
// and the requester's outbound log, each with its sequencer (the single
// writer: group commit, integration, signed checkpoints) and a tree reader
// for proofs.
type Logs struct {
	Inquiry      *tlog.Sequencer
	Outbound     *tlog.Sequencer
	InquiryTree  *tlog.Tree
	OutboundTree *tlog.Tree
}

// LogStore is what the tamper-evident logs need of the store (both
// *store.SQLite and *store.Postgres have it).
type LogStore interface {
	tlog.SequencerStore
	tlog.TreeReader
}

var (
	_ LogStore = (*store.SQLite)(nil)
	_ LogStore = (*store.Postgres)(nil)
)

// openLogs starts both sequencers on st, signing checkpoints with the node's
// signing key under the origins tlog.Origin(id, log).
// Every backend has tree support; a Store without it is refused rather than
// run with logs that are not tamper-evident.
func openLogs(ctx context.Context, cfg *config.Config, nk *keys.NodeKeys, backend Store, logger *slog.Logger) (*Logs, error) {
	st, ok := backend.(LogStore)
	if !ok {
		return nil, fmt.Errorf("node: store %T has no Merkle tree support: logs would not be tamper-evident", backend)
	}
	open := func(log store.LogID) (*tlog.Sequencer, error) {
		signer, err := tlog.NewSigner(tlog.Origin(cfg.ID, log), nk.Signer)
		if err != nil {
			return nil, err
		}
		return tlog.NewSequencer(ctx, tlog.SequencerOptions{
			Store: st, Log: log, Signer: signer,
			MaxBatch:             cfg.Log.MaxBatch,
			CheckpointInterval:   cfg.Log.CheckpointInterval.D(),
			CheckpointAfterBatch: cfg.Log.AfterBatch(),
			Logger:               logger,
		})
	}
	inq, err := open(store.LogInquiry)
	if err != nil {
		return nil, err
	}
	out, err := open(store.LogOutbound)
	if err != nil {
		inq.Close()
		return nil, err
	}
	return &Logs{Inquiry: inq, Outbound: out,
		InquiryTree: tlog.NewTree(st, store.LogInquiry), OutboundTree: tlog.NewTree(st, store.LogOutbound)}, nil
}

// sequencer is what takes the provider's inquiry-log appends.
func (l *Logs) sequencer() server.Sequencer {
	if l == nil {
		return nil // the provider appends to its Store
	}
	return l.Inquiry
}

// proofs serves the inquiry log's checkpoint and proofs.
func (l *Logs) proofs() server.LogProofs {
	if l == nil {
		return nil
	}
	return l.InquiryTree
}

// outboundProofs serves the outbound log's checkpoint and proofs.
func (l *Logs) outboundProofs() server.LogProofs {
	if l == nil {
		return nil
	}
	return l.OutboundTree
}

// outbound is what takes the client's outbound-log appends.
func (l *Logs) outbound(fallback peer.OutboundLog) peer.OutboundLog {
	if l == nil {
		return fallback
	}
	return l.Outbound
}

// Close stops both sequencers after their last batch and final checkpoint.
func (l *Logs) Close() error {
	if l == nil {
		return nil
	}
	return errors.Join(l.Inquiry.Close(), l.Outbound.Close())
}
