package gate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// Sequencer takes the inquiry-log appends (the node's tamper-evident log
// sequencer, or a store): CommitInquiry marks a request id used (and a
// consent use) atomically with an answer's leaf; AppendInquiry takes the
// other leaves and the denials.
type Sequencer interface {
	CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error)
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
}

// Inquiries is the one way a member service records a refusal: Deny
// appends the denial's entry and answers with its code and log index;
// when the log cannot take it, the answer fails closed (log_unavailable)
// and nothing else leaves. It also remembers the outcome of the last
// append made through it (Sequencer), which readiness reports.
type Inquiries struct {
	seq    Sequencer
	log    *slog.Logger
	clock  func() time.Time
	mu     sync.Mutex
	health error // of the last append or commit; nil if it succeeded
}

// NewInquiries makes an Inquiries over seq. log and clock default to
// slog.Default and time.Now.
func NewInquiries(seq Sequencer, log *slog.Logger, clock func() time.Time) *Inquiries {
	if log == nil {
		log = slog.Default()
	}
	if clock == nil {
		clock = time.Now
	}
	return &Inquiries{seq: seq, log: log, clock: clock}
}

// Sequencer is the sequencer through Inquiries: every append and commit
// made through it updates Health.
func (l *Inquiries) Sequencer() Sequencer { return tracked{l} }

// Health is the error of the last append or commit made through l, or nil
// if it succeeded (or none was made). An error means the log could not be
// written: the node is not ready.
func (l *Inquiries) Health() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.health
}

func (l *Inquiries) record(err error) {
	// A refused commit (replay, consent used up or revoked) is an answer,
	// not a failure of the log.
	if errors.Is(err, store.ErrReplay) || errors.Is(err, store.ErrConsentExhausted) || errors.Is(err, store.ErrConsentRevoked) {
		err = nil
	}
	l.mu.Lock()
	l.health = err
	l.mu.Unlock()
}

type tracked struct{ l *Inquiries }

func (t tracked) CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error) {
	app, err := t.l.seq.CommitInquiry(ctx, c)
	t.l.record(err)
	return app, err
}

func (t tracked) AppendInquiry(ctx context.Context, leaf store.Leaf) (store.Appended, error) {
	app, err := t.l.seq.AppendInquiry(ctx, leaf)
	t.l.record(err)
	return app, err
}

// Deny records entry, built by the service with what it knows of the
// request, as a denial with e's code, and answers e with the entry's log
// index. If the entry cannot be appended the answer is log_unavailable:
// nothing leaves unlogged.
func (l *Inquiries) Deny(ctx context.Context, entry schemas.InquiryEntry, e *schemas.Error) Failure {
	entry.Decision, entry.Code = schemas.DecisionDeny, e.Code
	leaf, err := inquirylog.NewLeaf(entry, l.clock())
	if err == nil {
		var app store.Appended
		if app, err = l.Sequencer().AppendInquiry(ctx, leaf); err == nil {
			idx := app.Index
			l.log.LogAttrs(ctx, slog.LevelInfo, "request denied", slog.String("kind", entry.Kind),
				slog.String("request_id", entry.RequestID), slog.String("requester", entry.Requester),
				slog.String("code", string(e.Code)), slog.Uint64("log_index", idx), slog.Any("cause", e.Err))
			return Failure{Err: e, RequestID: entry.RequestID, LogIndex: &idx}
		}
	}
	return l.FailClosed(ctx, entry, schemas.Wrap(schemas.CodeLogUnavailable, errors.Join(err, e), "inquiry log unavailable"))
}

// FailClosed answers e without a log entry: only for failures of the log
// itself (e is log_unavailable, or the answer could not be made after its
// entry was committed). It is logged to the operator's log with the
// request's id and requester.
func (l *Inquiries) FailClosed(ctx context.Context, entry schemas.InquiryEntry, e *schemas.Error) Failure {
	l.log.LogAttrs(ctx, slog.LevelError, "request failed closed", slog.String("kind", entry.Kind),
		slog.String("request_id", entry.RequestID), slog.String("requester", entry.Requester),
		slog.String("code", string(e.Code)), slog.Any("cause", e.Err))
	return Failure{Err: e, RequestID: entry.RequestID}
}
