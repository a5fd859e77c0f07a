package internalapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// countingPeer stands in for the node's requester client and counts what
// would have been sent to a peer.
type countingPeer struct {
	mu      sync.Mutex
	queries []peer.Query
}

func (p *countingPeer) Query(_ context.Context, q peer.Query) (*peer.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, q)
	return &peer.Result{Response: schemas.QueryResponse{RequestID: "r" + string(rune('0'+len(p.queries))), Issuer: q.Provider,
		Subject: q.Subject, Purpose: q.Purpose, Decision: schemas.Decision{Allow: true}}, OutboundIndex: uint64(len(p.queries))}, nil
}

func (p *countingPeer) Discover(context.Context, string, string, string) (*schemas.DiscoveryAnswer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, peer.Query{})
	return &schemas.DiscoveryAnswer{}, nil
}

func (p *countingPeer) ConsentStatus(context.Context, string, string, string, *peer.Caller) (*schemas.ConsentStatusAnswer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, peer.Query{})
	return nil, schemas.Errorf(schemas.CodePeerUnavailable, "no peers in this test")
}

func (p *countingPeer) Get(context.Context, string, string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, peer.Query{})
	return nil, schemas.Errorf(schemas.CodePeerUnavailable, "no peers in this test")
}

func (p *countingPeer) sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queries)
}

type emptyOutbound struct{}

func (emptyOutbound) OutboundLogSize(context.Context) (uint64, error) { return 0, nil }
func (emptyOutbound) SearchOutbound(context.Context, store.OutboundSearch) ([]store.StoredLeaf, error) {
	return nil, nil
}

type fixture struct {
	t      *testing.T
	dir    string
	op     *Operator
	peer   *countingPeer
	url    string
	caPool *x509.CertPool
}

const testUSCC = "91110000100000016D"

func newFixture(t *testing.T) *fixture { return newFixtureImporting(t, nil) }

func newFixtureImporting(t *testing.T, imp records.Importer) *fixture {
	t.Helper()
	dir := t.TempDir()
	nk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	p := &countingPeer{}
	api, err := New(Options{ID: "bank-a", NodeDir: dir, Keys: nk, Peer: p, Outbound: emptyOutbound{}, MaxBody: 4096, Records: imp,
		Registry: func(time.Time) (*registry.Registry, error) {
			return nil, schemas.Errorf(schemas.CodeRegistryUnavailable, "none")
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := api.TLSConfig("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.Handler())
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	op := NewOperator(dir)
	ca, err := op.CA()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, dir: dir, op: op, peer: p, url: srv.URL, caPool: ca.Pool()}
}

// client registers a client and returns an HTTP client holding its certificate.
func (f *fixture) client(name string, ops, purposes, providers []string) *http.Client {
	f.t.Helper()
	_, certPEM, keyPEM, err := f.op.Add(AddOptions{Name: name, Operations: ops, Purposes: purposes, Providers: providers})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.httpClient(certPEM, keyPEM)
}

func (f *fixture) httpClient(certPEM, keyPEM []byte) *http.Client {
	f.t.Helper()
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		f.t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: f.caPool, MinVersion: tls.VersionTLS12}}}
}

type httpCall struct {
	method, path string
	body         string
	headers      map[string]string
}

func (f *fixture) do(hc *http.Client, c httpCall) (int, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(c.method, f.url+c.path, strings.NewReader(c.body))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func codeIn(t *testing.T, status int, body []byte) schemas.Code {
	t.Helper()
	var eb schemas.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("status %d, body not an error body: %q", status, body)
	}
	if eb.Error.Code.Status() != status {
		t.Fatalf("code %s with status %d", eb.Error.Code, status)
	}
	return eb.Error.Code
}

func queryBody(purpose, provider string) string {
	return `{"provider":"` + provider + `","subject":"` + testUSCC + `","purpose":"` + purpose + `","categories":["tax_payment"]}`
}

func who(extra ...string) map[string]string {
	h := map[string]string{HeaderStaffID: "staff-0042", HeaderBusinessRef: "LA-2026-000123"}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			delete(h, extra[i])
			continue
		}
		h[extra[i]] = extra[i+1]
	}
	return h
}

// Each bad input is refused with its stable code before anything is sent
// to a peer.
func TestInternalBadInputCodes(t *testing.T) {
	f := newFixture(t)
	loan := f.client("loan-system", []string{OpQuery, OpConsentCheck}, []string{"loan_approval"}, []string{"tax-dept"})
	auditor := f.client("auditor", []string{OpAudit}, []string{"loan_approval"}, nil)
	revoked := f.client("old-system", []string{OpQuery}, []string{"loan_approval"}, nil)
	if err := f.op.Clients.Revoke("old-system", time.Now()); err != nil {
		t.Fatal(err)
	}
	// A federation member's certificate (another CA, never registered).
	fed, err := certs.NewCA("federation", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	memberCert, memberKey, err := fed.IssueNode("bank-a", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	member := f.httpClient(memberCert, memberKey)

	q := func(body string, h map[string]string) httpCall {
		return httpCall{method: "POST", path: "/internal/v1/query", body: body, headers: h}
	}
	good := queryBody("loan_approval", "tax-dept")
	cases := []struct {
		name string
		hc   *http.Client
		c    httpCall
		want schemas.Code
	}{
		{"federation member certificate", member, q(good, who(HeaderIdempotencyKey, "k1")), schemas.CodeClientUnknown},
		{"revoked client", revoked, q(good, who(HeaderIdempotencyKey, "k1")), schemas.CodeClientRevoked},
		{"operation outside the allow-list", auditor, q(good, who(HeaderIdempotencyKey, "k1")), schemas.CodeClientNotPermitted},
		{"purpose outside the allow-list", loan, q(queryBody("marketing", "tax-dept"), who(HeaderIdempotencyKey, "k1")), schemas.CodeClientNotPermitted},
		{"provider outside the allow-list", loan, q(queryBody("loan_approval", "market-reg"), who(HeaderIdempotencyKey, "k1")), schemas.CodeClientNotPermitted},
		{"no staff id", loan, q(good, who(HeaderIdempotencyKey, "k1", HeaderStaffID, "")), schemas.CodeStaffIDMissing},
		{"no business reference", loan, q(good, who(HeaderIdempotencyKey, "k1", HeaderBusinessRef, "")), schemas.CodeBusinessRefMissing},
		{"no idempotency key", loan, q(good, who()), schemas.CodeIdempotencyKeyMissing},
		{"oversized body", loan, q(`{"provider":"`+strings.Repeat("x", 5000)+`"}`, who(HeaderIdempotencyKey, "k1")), schemas.CodeBodyTooLarge},
		{"malformed body", loan, q(`{"provider":`, who(HeaderIdempotencyKey, "k1")), schemas.CodeMalformedRequest},
		{"unknown member", loan, q(strings.Replace(good, `"provider"`, `"provider2":"x","provider"`, 1), who(HeaderIdempotencyKey, "k1")), schemas.CodeMalformedRequest},
		{"bad subject", loan, q(strings.Replace(good, testUSCC, "91110000100000016X", 1), who(HeaderIdempotencyKey, "k1")), schemas.CodeMalformedRequest},
		{"invisible character in staff id", loan, q(good, who(HeaderIdempotencyKey, "k1", HeaderStaffID, "a\u200bb")), schemas.CodeMalformedRequest},
		{"consent check without business reference", loan, httpCall{method: "POST", path: "/internal/v1/consent/check", body: `{}`, headers: who(HeaderBusinessRef, "")}, schemas.CodeBusinessRefMissing},
		{"no such route", loan, httpCall{method: "GET", path: "/internal/v1/nothing", headers: who()}, schemas.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.do(tc.hc, tc.c)
			if got := codeIn(t, status, body); got != tc.want {
				t.Fatalf("code %s, want %s (%s)", got, tc.want, body)
			}
			if n := f.peer.sent(); n != 0 {
				t.Fatalf("%d request(s) reached a peer", n)
			}
		})
	}
}

// The same Idempotency-Key with the same body replays the answer without a
// second query; with another body it is refused.
func TestInternalIdempotency(t *testing.T) {
	f := newFixture(t)
	loan := f.client("loan-system", []string{OpQuery}, []string{"loan_approval"}, nil)
	body := queryBody("loan_approval", "tax-dept")
	h := who(HeaderIdempotencyKey, "application-123-attempt-1")
	s1, b1 := f.do(loan, httpCall{"POST", "/internal/v1/query", body, h})
	if s1 != http.StatusOK {
		t.Fatalf("first: %d %s", s1, b1)
	}
	s2, b2 := f.do(loan, httpCall{"POST", "/internal/v1/query", body, h})
	if s2 != http.StatusOK || !bytes.Equal(b1, b2) {
		t.Fatalf("replay: %d %s, first %s", s2, b2, b1)
	}
	if n := f.peer.sent(); n != 1 {
		t.Fatalf("%d queries sent for one key, want 1", n)
	}
	s3, b3 := f.do(loan, httpCall{"POST", "/internal/v1/query", strings.Replace(body, "tax_payment", "social_insurance", 1), h})
	if got := codeIn(t, s3, b3); got != schemas.CodeIdempotencyConflict {
		t.Fatalf("other body, same key: %s", got)
	}
	if n := f.peer.sent(); n != 1 {
		t.Fatalf("%d queries sent after a conflicting key, want 1", n)
	}
	// A fresh key queries again; the first key's record survives a new server.
	if s, b := f.do(loan, httpCall{"POST", "/internal/v1/query", body, who(HeaderIdempotencyKey, "application-123-attempt-2")}); s != http.StatusOK {
		t.Fatalf("fresh key: %d %s", s, b)
	}
	st, err := NewIdempotency(f.dir, time.Now).Get("loan-system", "application-123-attempt-1")
	if err != nil || st == nil || !bytes.Equal(st.Body, b1) {
		t.Fatalf("durable record: %+v %v", st, err)
	}
	// The query carried who and why; the provider-bound digest is not the reference.
	got := f.peer.queries[0].Caller
	if got == nil || got.StaffID != "staff-0042" || got.BusinessRef != "LA-2026-000123" || !schemas.IsHexDigest(got.RefDigest) ||
		strings.Contains(got.RefDigest, "LA-2026") {
		t.Fatalf("caller: %+v", got)
	}
}

// Revoking a client takes effect on its next request, on the same server.
func TestInternalRevocationWithoutRestart(t *testing.T) {
	f := newFixture(t)
	loan := f.client("loan-system", []string{OpQuery}, []string{"loan_approval"}, nil)
	body := queryBody("loan_approval", "tax-dept")
	if s, b := f.do(loan, httpCall{"POST", "/internal/v1/query", body, who(HeaderIdempotencyKey, "a")}); s != http.StatusOK {
		t.Fatalf("before: %d %s", s, b)
	}
	if err := NewOperator(f.dir).Clients.Revoke("loan-system", time.Now()); err != nil {
		t.Fatal(err)
	}
	s, b := f.do(loan, httpCall{"POST", "/internal/v1/query", body, who(HeaderIdempotencyKey, "b")})
	if got := codeIn(t, s, b); got != schemas.CodeClientRevoked {
		t.Fatalf("after revoke: %s", got)
	}
	if n := f.peer.sent(); n != 1 {
		t.Fatalf("%d queries sent, want 1", n)
	}
}
