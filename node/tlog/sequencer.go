package tlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/store"
)

// Sequencer defaults.
const (
	DefaultMaxBatch           = 256
	DefaultCheckpointInterval = 10 * time.Second
	// integrateChunk bounds the leaves one tree extension reads.
	integrateChunk = 4096
)

// SequencerStore is what a Sequencer needs of the store.
type SequencerStore interface {
	AppendBatch(ctx context.Context, log store.LogID, items []store.BatchItem) ([]store.BatchResult, error)
	ExtendTree(ctx context.Context, log store.LogID, maxLeaves int, extend func(store.TreeState, [][]byte) (store.TreeUpdate, error)) (store.TreeState, error)
	LatestCheckpoint(ctx context.Context, log store.LogID) (store.Checkpoint, error)
}

// SequencerOptions configures a Sequencer. Store, Log and Signer are
// required.
type SequencerOptions struct {
	Store SequencerStore
	Log   store.LogID
	// Signer signs checkpoints; its name is the log's origin (see Origin and
	// NewSigner).
	Signer note.Signer
	// MaxBatch bounds the entries written in one transaction
	// (DefaultMaxBatch if 0).
	MaxBatch int
	// CheckpointInterval is how often a checkpoint is published if the log
	// grew (DefaultCheckpointInterval if 0).
	CheckpointInterval time.Duration
	// CheckpointAfterBatch also publishes a checkpoint each time new leaves
	// are integrated, in the same transaction.
	CheckpointAfterBatch bool
	// WriteTimeout, if positive, bounds each batch's write: a store that
	// holds the batch longer (a lock held by another process or
	// connection) fails it with store.ErrUnavailable, so appends fail
	// closed in bounded time instead of waiting on the lock.
	WriteTimeout time.Duration
	Clock        func() time.Time // time.Now if nil
	Logger       *slog.Logger     // slog.Default() if nil
}

// Sequencer is the single writer of one log. Appends from any number of
// goroutines are batched: while one batch is being written, the next
// accumulates, and each batch is one store transaction (one fsync). An
// append returns only when its batch is durable. After each batch the new
// leaves are integrated into the stored Merkle tree and, as configured,
// a signed checkpoint is published.
//
// Integration runs behind the appends: a crash between the two leaves
// durable leaves that the next Sequencer on the store integrates when it
// starts (NewSequencer catches up before it returns).
type Sequencer struct {
	opts SequencerOptions
	log  *slog.Logger
	rf   compact.RangeFactory

	reqs chan *request
	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu        sync.Mutex
	published uint64 // size of the last checkpoint published here or found
	havePub   bool
}

type request struct {
	ctx  context.Context
	item store.BatchItem
	done chan store.BatchResult
}

// NewSequencer starts the sequencer of opts.Log. Before returning it
// integrates leaves left unintegrated by a crash and publishes a checkpoint
// of the whole log if the last one does not cover it. The caller must Close
// it.
func NewSequencer(ctx context.Context, opts SequencerOptions) (*Sequencer, error) {
	switch {
	case opts.Store == nil || opts.Signer == nil:
		return nil, errors.New("tlog: Store and Signer are required")
	case opts.Log != store.LogInquiry && opts.Log != store.LogOutbound:
		return nil, fmt.Errorf("tlog: unknown log %q", opts.Log)
	case opts.MaxBatch < 0 || opts.CheckpointInterval < 0:
		return nil, errors.New("tlog: MaxBatch and CheckpointInterval must not be negative")
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Sequencer{
		opts: opts,
		log:  opts.Logger.With(slog.String("log", string(opts.Log))),
		rf:   compact.RangeFactory{Hash: hasher.HashChildren},
		reqs: make(chan *request),
		kick: make(chan struct{}, 1),
		quit: make(chan struct{}),
	}
	switch cp, err := opts.Store.LatestCheckpoint(ctx, opts.Log); {
	case err == nil:
		s.published, s.havePub = cp.Size, true
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if _, err := s.integrate(ctx, true); err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.runAppends()
	go s.runIntegration()
	return s, nil
}

// Commit appends an answered query (inquiry log only): see
// store.SQLite.CommitInquiry for its refusals (ErrReplay,
// ErrConsentExhausted, ErrConsentRevoked). Durable when it returns.
func (s *Sequencer) Commit(ctx context.Context, c store.Commit) (store.Appended, error) {
	if s.opts.Log != store.LogInquiry {
		return store.Appended{}, ErrWrongLog
	}
	return s.submit(ctx, store.BatchItem{Commit: &c})
}

// Append appends a bare leaf. Durable when it returns.
func (s *Sequencer) Append(ctx context.Context, l store.Leaf) (store.Appended, error) {
	return s.submit(ctx, store.BatchItem{Leaf: &l})
}

// CommitInquiry is Commit, named as the provider's store method it replaces.
func (s *Sequencer) CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error) {
	return s.Commit(ctx, c)
}

// AppendInquiry appends to the inquiry log (the denial path).
func (s *Sequencer) AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error) {
	if s.opts.Log != store.LogInquiry {
		return store.Appended{}, ErrWrongLog
	}
	return s.Append(ctx, l)
}

// AppendOutbound appends to the outbound log (the requester's receipts).
func (s *Sequencer) AppendOutbound(ctx context.Context, l store.Leaf) (store.Appended, error) {
	if s.opts.Log != store.LogOutbound {
		return store.Appended{}, ErrWrongLog
	}
	return s.Append(ctx, l)
}

func (s *Sequencer) submit(ctx context.Context, it store.BatchItem) (store.Appended, error) {
	r := &request{ctx: ctx, item: it, done: make(chan store.BatchResult, 1)}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return store.Appended{}, ErrClosed
	case <-ctx.Done():
		return store.Appended{}, fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
	}
	// Once handed over, wait for the outcome even if ctx ends: the batch may
	// already be on its way to disk, and the caller must learn whether its
	// entry was written (the write itself is bounded by the store).
	res := <-r.done
	return res.Appended, res.Err
}

// runAppends is the group-commit loop.
func (s *Sequencer) runAppends() {
	defer s.wg.Done()
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		select {
		case r := <-s.reqs:
			batch = append(batch[:0], r)
		case <-s.quit:
			return
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.writeBatch(batch)
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *Sequencer) writeBatch(batch []*request) {
	items := make([]store.BatchItem, 0, len(batch))
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil { // gave up before its batch was written: not written
			r.done <- store.BatchResult{Err: fmt.Errorf("%w: %w", store.ErrUnavailable, err)}
			continue
		}
		items = append(items, r.item)
		live = append(live, r)
	}
	if len(items) == 0 {
		return
	}
	t0 := time.Now()
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if s.opts.WriteTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.opts.WriteTimeout)
	}
	res, err := s.opts.Store.AppendBatch(ctx, s.opts.Log, items)
	cancel()
	if err != nil {
		s.log.LogAttrs(context.Background(), slog.LevelError, "batch append failed",
			slog.Int("entries", len(items)), slog.Any("err", err))
		for _, r := range live {
			r.done <- store.BatchResult{Err: err}
		}
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "batch appended",
		slog.Int("entries", len(items)), slog.Duration("took", time.Since(t0)))
	for i, r := range live {
		r.done <- res[i]
	}
}

// runIntegration integrates after each batch and publishes periodically.
func (s *Sequencer) runIntegration() {
	defer s.wg.Done()
	tick := time.NewTicker(s.opts.CheckpointInterval)
	defer tick.Stop()
	ctx := context.Background()
	for {
		publish := s.opts.CheckpointAfterBatch
		select {
		case <-s.kick:
		case <-tick.C:
			publish = true
		case <-s.quit:
			return
		}
		if _, err := s.integrate(ctx, publish); err != nil {
			// The leaves are durable; the next round or the next start
			// integrates them.
			s.log.LogAttrs(ctx, slog.LevelError, "tree integration failed", slog.Any("err", err))
		}
	}
}

// Publish integrates every appended leaf and publishes a checkpoint of the
// whole log, unless one of that size exists. It returns the tree size.
func (s *Sequencer) Publish(ctx context.Context) (uint64, error) {
	return s.integrate(ctx, true)
}

// integrate extends the stored tree to the log's size, chunk by chunk, and
// if publish is set signs a checkpoint of the final state in the
// transaction of the last chunk.
func (s *Sequencer) integrate(ctx context.Context, publish bool) (uint64, error) {
	for {
		var got int
		var cp *store.Checkpoint
		st, err := s.opts.Store.ExtendTree(ctx, s.opts.Log, integrateChunk, func(st store.TreeState, leaves [][]byte) (store.TreeUpdate, error) {
			got = len(leaves)
			up, root, err := extension(&s.rf, st, leaves)
			if err != nil {
				return store.TreeUpdate{}, err
			}
			if root == nil {
				root = EmptyRoot()
			}
			s.mu.Lock()
			need := publish && len(leaves) < integrateChunk && (!s.havePub || up.State.Size > s.published)
			s.mu.Unlock()
			if need {
				body := Checkpoint{Origin: s.opts.Signer.Name(), Size: up.State.Size, Hash: root}
				signed, err := Sign(body, s.opts.Signer)
				if err != nil {
					return store.TreeUpdate{}, err
				}
				cp = &store.Checkpoint{Size: up.State.Size, Root: root, Note: signed, PublishedAt: s.opts.Clock().UTC()}
				up.Checkpoint = cp
			}
			if len(leaves) == 0 {
				return store.TreeUpdate{Checkpoint: up.Checkpoint}, nil
			}
			return up, nil
		})
		if err != nil {
			return 0, err
		}
		if cp != nil {
			s.mu.Lock()
			if !s.havePub || cp.Size > s.published {
				s.published, s.havePub = cp.Size, true
			}
			s.mu.Unlock()
			s.log.LogAttrs(ctx, slog.LevelDebug, "checkpoint published", slog.Uint64("size", cp.Size))
		}
		if got < integrateChunk {
			return st.Size, nil
		}
	}
}

// Close stops accepting appends (they fail with ErrClosed), waits for the
// batch in flight, then integrates and publishes a final checkpoint.
func (s *Sequencer) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = s.integrate(ctx, true)
	})
	return err
}
