package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/creditexchange/node/schemas"
)

// Defaults of NewPreAuth.
const (
	// DefaultPreAuthInterval is how long one source's refusals of one kind
	// and code share a log entry.
	DefaultPreAuthInterval = time.Minute
	// DefaultPreAuthSources bounds the sources remembered at once; past it
	// the oldest is summarised and forgotten.
	DefaultPreAuthSources = 10_000
)

// PreAuth bounds what requests refused before any signature verified (junk
// on the subject listener: no valid token, an unreadable body) cost the
// inquiry log, while every attempt stays accounted for. Per source (the
// client address key), kind and code, the first refusal of an interval is
// logged as a denial of its own; the further ones of that interval are
// only counted, and one entry sums them up when the interval is over (on
// the next refusal after it, on eviction, or on Flush). So a source adds
// at most two entries an interval, whatever it sends. The source appears
// in the log only as a digest.
type PreAuth struct {
	inq      *Inquiries
	count    RefusalCounter // nil: not counted
	interval time.Duration
	max      int

	mu      sync.Mutex
	buckets map[preAuthKey]*preAuthBucket
}

type preAuthKey struct {
	source, kind string
	code         schemas.Code
}

type preAuthBucket struct {
	start, last time.Time
	suppressed  int
}

// RefusalCounter counts every request refused before authentication, logged
// alone or summed up (the node's metrics: ops.Metrics).
type RefusalCounter interface {
	UnauthenticatedRefused(kind, code string)
}

// NewPreAuth makes a PreAuth logging through inq; interval and max <= 0
// take the defaults. Use Counting to count refusals in metrics too.
func NewPreAuth(inq *Inquiries, interval time.Duration, max int) *PreAuth {
	if interval <= 0 {
		interval = DefaultPreAuthInterval
	}
	if max <= 0 {
		max = DefaultPreAuthSources
	}
	return &PreAuth{inq: inq, interval: interval, max: max, buckets: map[preAuthKey]*preAuthBucket{}}
}

// Counting makes a count every refusal in c, and returns a.
func (a *PreAuth) Counting(c RefusalCounter) *PreAuth {
	a.count = c
	return a
}

// Deny refuses an unauthenticated request from source with e. entry is the
// denial's entry as the service builds it (kind, request digest). The first
// refusal of an interval is logged (or fails closed, log_unavailable); a
// further one is counted for the interval's summary and answered without a
// log index. An empty source (a caller that knows none) is always logged.
func (a *PreAuth) Deny(ctx context.Context, source string, entry schemas.InquiryEntry, e *schemas.Error) Failure {
	if a.count != nil {
		a.count.UnauthenticatedRefused(entry.Kind, string(e.Code))
	}
	if source == "" {
		return a.inq.Deny(ctx, entry, e)
	}
	now := a.inq.clock()
	k := preAuthKey{source: source, kind: entry.Kind, code: e.Code}
	a.mu.Lock()
	due := a.takeDue(now)
	b, ok := a.buckets[k]
	if ok {
		b.suppressed++
		b.last = now
	} else {
		if len(a.buckets) >= a.max {
			due = append(due, a.evictOldest())
		}
		a.buckets[k] = &preAuthBucket{start: now, last: now}
	}
	a.mu.Unlock()
	a.summarise(ctx, due)
	if ok {
		return Failure{Err: e}
	}
	return a.inq.Deny(ctx, entry, e)
}

// Run logs the summaries of intervals as they end, until ctx is done, then
// those of every interval not yet summarised (Flush), so that a source that
// stops sending is accounted for without waiting for the next refusal.
func (a *PreAuth) Run(ctx context.Context) {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			a.mu.Lock()
			due := a.takeDue(a.inq.clock())
			a.mu.Unlock()
			a.summarise(ctx, due)
		}
	}
}

// Flush logs the summaries of every interval with refusals not yet logged.
func (a *PreAuth) Flush(ctx context.Context) {
	a.mu.Lock()
	var due []preAuthSummary
	for k, b := range a.buckets {
		if b.suppressed > 0 {
			due = append(due, preAuthSummary{k, *b})
		}
		delete(a.buckets, k)
	}
	a.mu.Unlock()
	a.summarise(ctx, due)
}

type preAuthSummary struct {
	key preAuthKey
	preAuthBucket
}

// takeDue removes the buckets whose interval is over; a.mu is held.
func (a *PreAuth) takeDue(now time.Time) []preAuthSummary {
	var due []preAuthSummary
	for k, b := range a.buckets {
		if now.Sub(b.start) >= a.interval {
			delete(a.buckets, k)
			if b.suppressed > 0 {
				due = append(due, preAuthSummary{k, *b})
			}
		}
	}
	return due
}

// evictOldest removes the bucket opened first; a.mu is held.
func (a *PreAuth) evictOldest() preAuthSummary {
	var oldest preAuthKey
	var first *preAuthBucket
	for k, b := range a.buckets {
		if first == nil || b.start.Before(first.start) {
			oldest, first = k, b
		}
	}
	delete(a.buckets, oldest)
	return preAuthSummary{oldest, *first}
}

// summarise appends one entry per summary with refusals. A failure is the
// operator's to see (the requests were answered already) and turns the
// node not ready through the log's health.
func (a *PreAuth) summarise(ctx context.Context, due []preAuthSummary) {
	for _, s := range due {
		if s.suppressed == 0 {
			continue
		}
		sum := sha256.Sum256([]byte(s.key.source))
		entry := schemas.InquiryEntry{Time: a.inq.clock().UTC().Format(time.RFC3339Nano), Kind: s.key.kind,
			Decision: schemas.DecisionDeny, Code: s.key.code,
			Outcome: fmt.Sprintf("%d further unauthenticated requests from source %s refused from %s to %s", s.suppressed,
				hex.EncodeToString(sum[:8]), s.start.UTC().Format(time.RFC3339), s.last.UTC().Format(time.RFC3339))}
		if f := a.inq.Deny(ctx, entry, schemas.Errorf(s.key.code, "refused before authentication")); f.LogIndex == nil {
			a.inq.log.LogAttrs(ctx, slog.LevelError, "summary of refused requests not logged",
				slog.String("kind", s.key.kind), slog.String("code", string(s.key.code)), slog.Int("requests", s.suppressed))
		}
	}
}
