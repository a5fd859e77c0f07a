package policy

import (
	"context"
	"sync"
	"time"
)

// decider is what a Pool runs decisions on (a *Holder or an *Engine).
type decider interface {
	Decide(ctx context.Context, in Input) (Result, error)
}

// Pool makes decisions on a few long-lived goroutines. A decision is a
// deep evaluation: on a fresh goroutine — and an HTTP/2 server starts one
// per request — its stack grows from the minimum by copying several times
// per decision (runtime.newstack and copystack were ≈19% of a provider's
// CPU under load, issue 16). A worker keeps the stack its first decisions
// grew, so later decisions run without copying. The garbage collector may
// shrink an idle worker's stack by half; it regrows once, not per decision.
//
// A caller waits for a free worker, or until its context ends. Pool is safe
// for concurrent use.
type Pool struct {
	d       decider
	observe func(time.Duration)
	jobs    chan poolJob
	wg      sync.WaitGroup
	once    sync.Once
}

type poolJob struct {
	ctx  context.Context
	in   Input
	done chan<- poolResult
}

type poolResult struct {
	r   Result
	err error
}

// NewPool starts workers goroutines deciding on d (at least one). observe,
// if not nil, is told each evaluation's time (on the worker, without the
// wait for it). Close stops them.
func NewPool(d decider, workers int, observe func(time.Duration)) *Pool {
	p := &Pool{d: d, observe: observe, jobs: make(chan poolJob)}
	for range max(workers, 1) {
		p.wg.Go(p.work)
	}
	return p
}

func (p *Pool) work() {
	for j := range p.jobs {
		t0 := time.Now()
		r, err := p.d.Decide(j.ctx, j.in)
		if p.observe != nil {
			p.observe(time.Since(t0))
		}
		j.done <- poolResult{r, err}
	}
}

// Decide evaluates in on a worker. It returns ctx's error if ctx ends
// before a worker is free; once a worker has the decision, it waits for it
// (evaluation itself honours ctx).
func (p *Pool) Decide(ctx context.Context, in Input) (Result, error) {
	done := make(chan poolResult, 1)
	select {
	case p.jobs <- poolJob{ctx: ctx, in: in, done: done}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	res := <-done
	return res.r, res.err
}

// Close stops the workers once they finish the decisions they hold. No
// Decide may be called after Close.
func (p *Pool) Close() error {
	p.once.Do(func() { close(p.jobs) })
	p.wg.Wait()
	return nil
}
