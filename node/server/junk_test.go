package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/ops"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// junkProvider is a provider whose clock the test moves, with the bound on
// unauthenticated refusals of New.
func junkProvider(st *fakeStore, now *time.Time) *Provider {
	p := testProvider(&fakeRegistries{view: &fakeView{}}, st, *now)
	p.opts.Clock = func() time.Time { return *now }
	p.inq = gate.NewInquiries(st, p.log, p.opts.Clock)
	p.opts.Sequencer = p.inq.Sequencer()
	p.preAuth = gate.NewPreAuth(p.inq, time.Minute, 0)
	return p
}

// The node's metrics count unauthenticated refusals (New finds them in
// Options.Observer).
var _ gate.RefusalCounter = (*ops.Metrics)(nil)

// refusalCount counts unauthenticated refusals, as the node's metrics do.
type refusalCount struct{ n int }

func (c *refusalCount) UnauthenticatedRefused(kind, code string) { c.n++ }

func postFrom(h http.Handler, remote, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestJunkLogCostBounded: 200 addresses posting junk to the subject
// listener add one entry per address and minute, not one per request, and
// every refused request is still accounted for: the first of each address
// by its own entry, the others by the summary entry of their interval.
func TestJunkLogCostBounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := &fakeStore{}
	p := junkProvider(st, &now)
	counted := &refusalCount{}
	p.preAuth.Counting(counted)
	h := p.PublicHandler(1 << 10)
	const addrs, each = 200, 10
	for i := range each {
		for a := range addrs {
			rec := postFrom(h, fmt.Sprintf("198.51.100.%d:%d", a, 4000+i), "/v1/subject/inquiries", "junk")
			if c := errorCode(t, rec); c != schemas.CodeSubjectCertInvalid && c != schemas.CodeMalformedRequest {
				t.Fatalf("junk answered %s", c)
			}
		}
		now = now.Add(time.Second)
	}
	if len(st.appended) != addrs {
		t.Fatalf("%d entries for %d requests from %d addresses within a minute, want %d", len(st.appended), addrs*each, addrs, addrs)
	}
	// An oversized body is refused body_too_large and accounted for too.
	if c := errorCode(t, postFrom(h, "198.51.100.0:9000", "/v1/subject/inquiries", strings.Repeat("x", 2<<10))); c != schemas.CodeBodyTooLarge {
		t.Fatalf("oversized body: %s", c)
	}
	now = now.Add(time.Minute) // the interval is over: the next refusal logs the summaries
	postFrom(h, "198.51.100.0:9001", "/v1/subject/inquiries", "junk")
	p.preAuth.Flush(context.Background())
	individual, summarised := 0, 0
	for _, e := range st.appended {
		if e.Decision != schemas.DecisionDeny || e.Kind != schemas.KindSubjectRead {
			t.Fatalf("entry %+v", e)
		}
		if e.Outcome == "" {
			individual++
			continue
		}
		var n int
		if _, err := fmt.Sscanf(e.Outcome, "%d further", &n); err != nil {
			t.Fatalf("summary %q: %v", e.Outcome, err)
		}
		if strings.Contains(e.Outcome, "198.51.100") {
			t.Fatalf("summary names the address in clear: %q", e.Outcome)
		}
		summarised += n
	}
	if total := addrs*each + 2; individual+summarised != total || counted.n != total {
		t.Fatalf("%d logged + %d summarised, %d counted, want %d requests accounted for", individual, summarised, counted.n, total)
	}
	if len(st.appended) > 2*addrs+3 {
		t.Fatalf("%d entries: not bounded", len(st.appended))
	}
}

// TestPublicGlobalRateLimit: many addresses each within their own limit
// together meet the listener's global limit.
func TestPublicGlobalRateLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := &fakeStore{}
	p := junkProvider(st, &now)
	const burst = 5
	h := p.RateLimit(p.PublicHandler(1<<10), 1, burst, nil)
	passed := 0
	for a := range 200 {
		for range burst {
			if postFrom(h, fmt.Sprintf("198.51.100.%d:4000", a), "/v1/subject/inquiries", "junk").Code != http.StatusTooManyRequests {
				passed++
			}
		}
	}
	if want := burst * GlobalRateClients; passed != want {
		t.Fatalf("%d requests passed the limits, want the global burst %d", passed, want)
	}
}

// TestReadyzFollowsTheLog: /readyz turns not ready (log_unavailable) once
// an inquiry-log append fails, e.g. on a full disk, and ready again after
// an append succeeds.
func TestReadyzFollowsTheLog(t *testing.T) {
	now := time.Unix(1_770_000_000, 0)
	st := &fakeStore{}
	p := testProvider(&fakeRegistries{view: &fakeView{}}, st, now)
	p.opts.Keys = &keys.NodeKeys{}
	h := p.PublicHandler(1 << 10)
	readyz := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec
	}
	if rec := readyz(); rec.Code != http.StatusOK {
		t.Fatalf("ready before any failure: %d %s", rec.Code, rec.Body)
	}
	st.commitErr = errors.New("no space left on device")
	if _, e := p.opts.Sequencer.CommitInquiry(context.Background(), store.Commit{}); e == nil {
		t.Fatal("commit did not fail")
	}
	if c := errorCode(t, readyz()); c != schemas.CodeLogUnavailable {
		t.Fatalf("readyz after a failed append: %s, want log_unavailable", c)
	}
	st.commitErr = nil
	if _, e := p.opts.Sequencer.CommitInquiry(context.Background(), store.Commit{}); e != nil {
		t.Fatal(e)
	}
	if rec := readyz(); rec.Code != http.StatusOK {
		t.Fatalf("ready after a good append: %d %s", rec.Code, rec.Body)
	}
}

func (s *fakeStore) Ping(context.Context) error { return nil }
