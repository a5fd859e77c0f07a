package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node/ops"
	"github.com/creditexchange/node/schemas"
)

// TestPublicRateLimit: a burst of unauthenticated junk above the limit from
// one address is refused rate_limited without growing the inquiry log, and
// each refusal is counted in the node's metrics; another address is
// unaffected; the bucket refills with time.
func TestPublicRateLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &fakeStore{}
	p := testProvider(&fakeRegistries{view: &fakeView{}}, st, now)
	metrics := ops.NewMetrics("bank-a")
	const burst = 5
	h := p.rateLimited(p.PublicHandler(1<<20), newIPLimiter(1, burst, 100, clock), nil, metrics.RateLimitObserver("public"))
	post := func(remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/subject/inquiries", strings.NewReader("junk"))
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", "198.51.100.1") // never trusted
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range burst {
		if rec := post("203.0.113.7:4000"); errorCode(t, rec) == schemas.CodeRateLimited {
			t.Fatalf("request %d within the burst was rate limited", i)
		}
	}
	logged := len(st.appended)
	if logged == 0 {
		t.Fatal("junk within the burst was not logged: the test does not exercise the log append")
	}
	for i := range 50 {
		rec := post(fmt.Sprintf("203.0.113.7:%d", 5000+i)) // same IP, new ports
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("request %d over the burst: status %d, want 429", i, rec.Code)
		}
		if c := errorCode(t, rec); c != schemas.CodeRateLimited {
			t.Fatalf("request %d over the burst: code %s, want rate_limited", i, c)
		}
	}
	if len(st.appended) != logged {
		t.Fatalf("inquiry log grew from %d to %d on rate-limited requests", logged, len(st.appended))
	}
	if n := rateLimitedCount(t, metrics); n != 50 {
		t.Fatalf("creditnode_rate_limited_total is %v after 50 refusals", n)
	}
	if c := errorCode(t, post("203.0.113.8:4000")); c == schemas.CodeRateLimited {
		t.Fatal("another address was rate limited")
	}
	now = now.Add(2 * time.Second) // refills two tokens
	for i := range 2 {
		if c := errorCode(t, post("203.0.113.7:4000")); c == schemas.CodeRateLimited {
			t.Fatalf("request %d after refill was rate limited", i)
		}
	}
	if c := errorCode(t, post("203.0.113.7:4000")); c != schemas.CodeRateLimited {
		t.Fatalf("third request after a 2-token refill: code %s, want rate_limited", c)
	}
	if n := rateLimitedCount(t, metrics); n != 51 {
		t.Fatalf("creditnode_rate_limited_total is %v after 51 refusals", n)
	}
}

// rateLimitedCount scrapes m and returns creditnode_rate_limited_total of
// the public listener, failing if the series is missing or carries any
// label other than node and listener (never the client's address).
func rateLimitedCount(t *testing.T, m *ops.Metrics) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "creditnode_rate_limited_total" {
			continue
		}
		if len(f.GetMetric()) != 1 {
			t.Fatalf("%d rate_limited series, want 1", len(f.GetMetric()))
		}
		s := f.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if len(labels) != 2 || labels["listener"] != "public" || labels["node"] != "bank-a" {
			t.Fatalf("rate_limited labels %v, want only listener=public and node=bank-a", labels)
		}
		return s.GetCounter().GetValue()
	}
	t.Fatal("no creditnode_rate_limited_total series")
	return 0
}

// TestIPLimiterBounded: many distinct addresses never grow the map past
// its cap, and idle entries are swept.
func TestIPLimiterBounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newIPLimiter(5, 20, 1000, func() time.Time { return now })
	for i := range 50_000 {
		l.allow(clientKey(fmt.Sprintf("10.%d.%d.%d:1", i>>16&0xff, i>>8&0xff, i&0xff)))
		if n := l.len(); n > 1000 {
			t.Fatalf("after %d addresses the limiter holds %d entries, cap 1000", i+1, n)
		}
	}
	now = now.Add(5 * time.Second) // > burst/rate = 4s: every bucket has refilled
	l.allow("192.0.2.1")
	if n := l.len(); n != 1 {
		t.Fatalf("after idling, %d entries remain, want 1", n)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7:4000":              "203.0.113.7",
		"[::ffff:203.0.113.7]:1":        "203.0.113.7",
		"[2001:db8:1:2:aaaa::1]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9%eth0]:1": "2001:db8:1:2::/64",
		"garbage":                       "garbage",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSubjectReadLimit: the zero value takes the defaults (a burst of
// DefaultSubjectReadBurst first pages, then refused until the bucket
// refills at DefaultSubjectReadsPerHour), each subject has its own bucket,
// a walk's following pages draw on their own allowance (a whole walk is one
// read, even when the reads are spent), and a negative rate turns the
// limit off.
func TestSubjectReadLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := SubjectReadLimit{}.limiter(clock)
	for i := range DefaultSubjectReadBurst {
		if !l.allowPage("s1", 0) {
			t.Fatalf("read %d within the default burst refused", i+1)
		}
	}
	if l.allowPage("s1", 0) {
		t.Fatal("read past the default burst allowed")
	}
	// The reads are spent, but the walks they began go on: each read's
	// following pages, SubjectPagesPerRead of them.
	for i := range DefaultSubjectReadBurst * SubjectPagesPerRead {
		if !l.allowPage("s1", uint64(1000*(i+1))) {
			t.Fatalf("following page %d of the burst's walks refused", i+1)
		}
	}
	if l.allowPage("s1", 1000) {
		t.Fatal("a following page past the walks' allowance allowed")
	}
	if !l.allowPage("s2", 0) || !l.allowPage("s2", 1000) {
		t.Fatal("another subject refused")
	}
	now = now.Add(time.Hour / DefaultSubjectReadsPerHour)
	if !l.allowPage("s1", 0) {
		t.Fatal("no read allowed after the bucket refilled one token")
	}
	if l.allowPage("s1", 0) {
		t.Fatal("more than one read allowed after one token's refill")
	}
	for i := range SubjectPagesPerRead {
		if !l.allowPage("s1", 1000) {
			t.Fatalf("following page %d of the refilled read refused", i+1)
		}
	}
	if l.allowPage("s1", 1000) {
		t.Fatal("more following pages than one read's allowed after one token's refill")
	}
	if off := (SubjectReadLimit{PerHour: -1}).limiter(clock); off != nil || !off.allowPage("s1", 0) {
		t.Fatal("a negative rate did not turn the limit off")
	}
}
