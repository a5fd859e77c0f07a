package vault

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// batcher groups concurrent signatures into one request, without a
// background goroutine: the first caller to find no batch open becomes its
// leader, waits out the window (or until the batch is full), closes the
// batch and sends it; callers arriving meanwhile join it and wait for their
// result. A batch's deadline is the earliest deadline of its members; a
// member whose context ended before the request is sent is left out.
type batcher struct {
	window time.Duration
	max    int
	send   func(context.Context, [][]byte) ([][]byte, error)

	mu   sync.Mutex
	open *pending // the batch collecting members, or nil
}

type pending struct {
	reqs []*batchReq
	full chan struct{} // closed when the batch reaches max
}

type batchReq struct {
	ctx context.Context
	msg []byte
	res chan batchRes // buffered 1
}

type batchRes struct {
	sig []byte
	err error
}

func newBatcher(window time.Duration, max int, send func(context.Context, [][]byte) ([][]byte, error)) *batcher {
	return &batcher{window: window, max: max, send: send}
}

func (b *batcher) sign(ctx context.Context, msg []byte) ([]byte, error) {
	r := &batchReq{ctx: ctx, msg: msg, res: make(chan batchRes, 1)}
	b.mu.Lock()
	p, leader := b.open, false
	if p == nil {
		p, leader = &pending{full: make(chan struct{})}, true
		b.open = p
	}
	p.reqs = append(p.reqs, r)
	if len(p.reqs) >= b.max {
		b.open = nil
		close(p.full)
	}
	b.mu.Unlock()
	if leader {
		timer := time.NewTimer(b.window)
		select {
		case <-timer.C:
		case <-p.full:
		case <-ctx.Done():
		}
		timer.Stop()
		b.mu.Lock()
		if b.open == p {
			b.open = nil
		}
		b.mu.Unlock()
		b.flush(p.reqs) // p is closed: nobody appends any more
	}
	select {
	case res := <-r.res:
		return res.sig, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: no signature before the deadline", ErrUnavailable)
	}
}

func (b *batcher) flush(batch []*batchReq) {
	live := make([]*batchReq, 0, len(batch))
	var deadline time.Time
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.res <- batchRes{err: fmt.Errorf("%w: %v", ErrUnavailable, err)}
			continue
		}
		if d, ok := r.ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	msgs := make([][]byte, len(live))
	for i, r := range live {
		msgs[i] = r.msg
	}
	sigs, err := b.send(ctx, msgs)
	for i, r := range live {
		if err != nil {
			r.res <- batchRes{err: err}
			continue
		}
		r.res <- batchRes{sig: sigs[i]}
	}
}
