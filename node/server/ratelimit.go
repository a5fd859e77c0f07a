package server

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/creditexchange/node/schemas"
)

// MaxRateLimitClients bounds how many client addresses the public rate
// limiter remembers; past it the least recently seen is forgotten.
const MaxRateLimitClients = 10_000

// GlobalRateClients sets the public API's global limit besides the one per
// address: the listener as a whole takes at most as many requests as this
// many clients at their own limit, so many addresses cannot add up to an
// unbounded load on the signature checks and the inquiry log.
const GlobalRateClients = 20

// RateLimitObserver is told of every request RateLimit refuses with
// rate_limited (the node's metrics: ops.Metrics.RateLimitObserver). It is
// told nothing about the request: a client address must not become a
// metric label.
type RateLimitObserver interface {
	ObserveRateLimited()
}

// RateLimit wraps the public API h with a token bucket per client address
// (r.RemoteAddr only, never a forwarding header; IPv6 by /64): perSecond
// requests a second, burst at once. A request over the limit is answered
// rate_limited (429) through p.write before h sees it, so it never reaches
// a signature check or an inquiry-log append; obs, if not nil, counts it.
// Besides, all addresses together get GlobalRateClients times that limit.
// perSecond <= 0 disables the limit.
func (p *Provider) RateLimit(h http.Handler, perSecond float64, burst int, obs RateLimitObserver) http.Handler {
	if perSecond <= 0 {
		return h
	}
	l := newIPLimiter(perSecond, burst, MaxRateLimitClients, p.opts.Clock)
	global := rate.NewLimiter(rate.Limit(perSecond*GlobalRateClients), max(burst, 1)*GlobalRateClients)
	return p.rateLimited(h, l, global, obs)
}

func (p *Provider) rateLimited(h http.Handler, l *ipLimiter, global *rate.Limiter, obs RateLimitObserver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The address's own limit first: an address over it takes nothing
		// from the others' share of the global limit.
		if !l.allow(clientKey(r.RemoteAddr)) || (global != nil && !global.AllowN(p.opts.Clock(), 1)) {
			if obs != nil {
				obs.ObserveRateLimited()
			}
			w.Header().Set("Retry-After", "1")
			p.write(w, r, Answer{Err: schemas.Errorf(schemas.CodeRateLimited, "too many requests from this address")})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// clientKey is the bucket a remote address counts against: its IP, or its
// /64 for IPv6 (one host usually holds a whole /64).
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		pfx, _ := a.Prefix(64)
		return pfx.String()
	}
	return a.String()
}

// ipLimiter holds a token bucket per key (a client address, or a subject id
// for SubjectReadLimit), least recently seen last.
// An entry idle long enough for its bucket to refill is indistinguishable
// from a new one and is dropped; past max entries the least recently seen
// is dropped too, so memory is bounded whatever the number of clients.
type ipLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	max     int
	idle    time.Duration // time to refill a bucket from empty
	now     func() time.Time
	entries map[string]*list.Element // of *ipEntry
	lru     list.List                // front: most recently seen
}

type ipEntry struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perSecond float64, burst, max int, now func() time.Time) *ipLimiter {
	if burst < 1 {
		burst = 1
	}
	if max < 1 {
		max = 1
	}
	if now == nil {
		now = time.Now
	}
	idle := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &ipLimiter{limit: rate.Limit(perSecond), burst: burst, max: max, idle: idle, now: now,
		entries: map[string]*list.Element{}}
}

func (l *ipLimiter) allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.entries[key]; ok {
		e := el.Value.(*ipEntry)
		e.seen = now
		l.lru.MoveToFront(el)
		return e.lim.AllowN(now, 1)
	}
	for back := l.lru.Back(); back != nil && now.Sub(back.Value.(*ipEntry).seen) > l.idle; back = l.lru.Back() {
		l.remove(back)
	}
	for l.lru.Len() >= l.max {
		l.remove(l.lru.Back())
	}
	e := &ipEntry{key: key, lim: rate.NewLimiter(l.limit, l.burst), seen: now}
	l.entries[key] = l.lru.PushFront(e)
	return e.lim.AllowN(now, 1)
}

func (l *ipLimiter) remove(el *list.Element) {
	l.lru.Remove(el)
	delete(l.entries, el.Value.(*ipEntry).key)
}

func (l *ipLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Defaults of SubjectReadLimit: 30 reads of one's own log an hour, 10 at
// once.
const (
	DefaultSubjectReadsPerHour = 30
	DefaultSubjectReadBurst    = 10
)

// SubjectPagesPerRead is how many following pages one read of a subject's
// log buys (schemas.SubjectPageRequest): a walk of that many pages after
// its first, 50,000 entries at the default page size, costs one read.
const SubjectPagesPerRead = 50

// MaxSubjectReadBuckets bounds how many subjects the read limiter
// remembers; past it the least recently seen is forgotten.
const MaxSubjectReadBuckets = 100_000

// SubjectReadLimit is the limit on each subject's reads of its own inquiry
// log: a token bucket per subject id refilled at PerHour, holding Burst.
//
// A read is a walk over the pages of the log: its first page (from index
// 0) takes a token of that bucket; each following page (from a later
// index) takes one of a second bucket per subject, SubjectPagesPerRead
// times as large and as fast. So a subject may walk Burst logs of up to
// SubjectPagesPerRead+1 pages at once, and a walk of ten pages is one
// read, however the limit is set.
type SubjectReadLimit struct {
	PerHour float64
	Burst   int
}

// subjectLimiter is the pair of per-subject buckets of SubjectReadLimit.
type subjectLimiter struct {
	reads, pages *ipLimiter
}

// limiter makes the per-subject buckets, or nil when the limit is off
// (PerHour negative).
func (s SubjectReadLimit) limiter(now func() time.Time) *subjectLimiter {
	if s.PerHour < 0 {
		return nil
	}
	if s.PerHour == 0 {
		s.PerHour = DefaultSubjectReadsPerHour
	}
	if s.Burst <= 0 {
		s.Burst = DefaultSubjectReadBurst
	}
	return &subjectLimiter{
		reads: newIPLimiter(s.PerHour/3600, s.Burst, MaxSubjectReadBuckets, now),
		pages: newIPLimiter(s.PerHour*SubjectPagesPerRead/3600, s.Burst*SubjectPagesPerRead, MaxSubjectReadBuckets, now),
	}
}

// allowPage says whether subject may read the page of its log starting at
// from: a first page (from 0) is a read, any other a following page. A nil
// limiter allows everything.
func (l *subjectLimiter) allowPage(subject string, from uint64) bool {
	switch {
	case l == nil:
		return true
	case from == 0:
		return l.reads.allow(subject)
	}
	return l.pages.allow(subject)
}
