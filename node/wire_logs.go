package node

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
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

// LogStore is what the tamper-evident logs need of the store (part of
// Store).
type LogStore interface {
	tlog.SequencerStore
	tlog.TreeReader
}

// openLogs starts both sequencers on st, signing checkpoints with the node's
// signing key under the origins tlog.Origin(id, log).
func openLogs(ctx context.Context, cfg *config.Config, nk *keys.NodeKeys, st LogStore, logger *slog.Logger) (*Logs, error) {
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
			WriteTimeout:         logWriteTimeout(cfg),
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

// Close stops both sequencers after their last batch and final checkpoint.
func (l *Logs) Close() error { return errors.Join(l.Inquiry.Close(), l.Outbound.Close()) }

// answerWithin is the time the provider gives itself to answer a request:
// half the request timeout, which the federation's nodes share by default
// (config request_timeout), so a provider failing closed answers its code
// before the requester gives up.
func answerWithin(cfg *config.Config) time.Duration { return cfg.RequestTimeout.D() / 2 }

// logWriteTimeout bounds one batch write of a log: a quarter of the request
// timeout, so that a provider whose store is locked learns it, and can still
// answer log_unavailable, within answerWithin.
func logWriteTimeout(cfg *config.Config) time.Duration { return cfg.RequestTimeout.D() / 4 }
