package policy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A pool decides as its engine does, from many goroutines at once, and
// stops cleanly.
func TestPoolDecidesAsItsEngine(t *testing.T) {
	e := newEngine(t)
	want, err := e.Decide(t.Context(), loanInput())
	if err != nil || !want.Allow {
		t.Fatalf("engine: %+v, %v", want, err)
	}
	var observed atomic.Int64
	p := NewPool(NewHolder(e), 2, func(time.Duration) { observed.Add(1) })
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			got, err := p.Decide(t.Context(), loanInput())
			if err != nil || got.Allow != want.Allow || got.Revision != want.Revision || len(got.Reasons) != len(want.Reasons) {
				t.Errorf("pool: %+v, %v; engine %+v", got, err, want)
			}
		})
	}
	wg.Wait()
	deny := loanInput()
	deny.Purpose = "marketing"
	if got, err := p.Decide(t.Context(), deny); err != nil || got.Allow {
		t.Fatalf("a denied input through the pool: %+v, %v", got, err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := observed.Load(); n != 17 {
		t.Fatalf("%d evaluations observed, want 17", n)
	}
}

// A caller whose context ends while every worker is busy gets its
// context's error, not a decision.
func TestPoolWaitHonoursContext(t *testing.T) {
	block, started := make(chan struct{}), make(chan struct{})
	p := NewPool(blockingDecider{block, started}, 1, nil)
	defer p.Close()
	defer close(block)
	go p.Decide(context.Background(), Input{}) // holds the only worker
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Decide(ctx, Input{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

type blockingDecider struct{ block, started chan struct{} }

func (b blockingDecider) Decide(context.Context, Input) (Result, error) {
	close(b.started)
	<-b.block
	return Result{}, nil
}

// BenchmarkDecideFreshGoroutine is a decision as an HTTP/2 server makes it,
// on a goroutine of its own, directly and through a Pool: compare their
// cpu-µs/op (process CPU time per decision) in one run.
func BenchmarkDecideFreshGoroutine(b *testing.B) {
	e := newEngine(b)
	in := loanInput()
	for _, c := range []struct {
		name string
		d    decider
	}{{"direct", e}, {"pool", NewPool(e, 2, nil)}} {
		b.Run(c.name, func(b *testing.B) {
			t0 := cpuTime(b)
			n := 0
			for b.Loop() {
				done := make(chan error, 1)
				go func() {
					r, err := c.d.Decide(context.Background(), in)
					if err == nil && !r.Allow {
						err = errors.New("denied")
					}
					done <- err
				}()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(cpuTime(b)-t0)/float64(n)/1e3, "cpu-µs/op")
		})
	}
}
