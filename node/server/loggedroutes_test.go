package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/schemas"
)

// Stubs for what a feed pull or a joint step would read past the registry
// check; a refusal for want of a registry reads none of them (a call panics).
type (
	stubChanges  struct{ feeds.ChangeReader }
	stubJobs     struct{ remote.JobStore }
	stubRequests struct{ remote.Requests }
	stubData     struct{}
)

func (stubChanges) RequestSeen(context.Context, string, string) (bool, error) {
	panic("read past the registry check")
}

func (stubData) JointData(context.Context, []string) (*joint.Dataset, error) {
	panic("read past the registry check")
}

// TestLoggedRoutesLogRegistryRefusals: with the registry expired, a feed
// pull and every joint modelling request that reach the member listener on a
// connection still open are refused registry_unavailable and logged in the
// inquiry log, against the client's certificate, as a query is
// (TestRegistryExpiredRefusalIsLogged); before, the member listener's guard
// answered them unlogged.
func TestLoggedRoutesLogRegistryRefusals(t *testing.T) {
	now := time.Unix(1_770_000_000, 0)
	cert := []byte("tax-dept client certificate")
	regs := &fakeRegistries{view: &fakeView{byFP: map[string]string{certs.Fingerprint(cert): "tax-dept"}}}
	st := &fakeStore{}
	p := testProvider(regs, st, now)
	nk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	fp, err := feeds.NewProvider(feeds.ProviderOptions{ID: "bank-a", Keys: nk, Registries: regs, Changes: stubChanges{},
		Log: st, Policy: &countingDecider{}, Levels: map[string]string{}, Negative: stubNegative{}, Clock: clock, Logger: p.log})
	if err != nil {
		t.Fatal(err)
	}
	js, err := remote.New(remote.Options{ID: "bank-a", Keys: nk, Registries: regs, Sequencer: st, Policy: &countingDecider{},
		Jobs: stubJobs{}, Requests: stubRequests{}, Data: stubData{}, Skew: time.Minute, Clock: clock, Logger: p.log})
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]http.Handler{feeds.Route: fp.Handler()}
	kinds := map[string]string{feeds.Route: feeds.KindDelivery}
	for pattern, h := range js.Routes() {
		routes[pattern], kinds[pattern] = h, schemas.KindJointModeling
	}
	p.opts.MemberRoutes = routes
	h := p.MemberHandler(1 << 20)
	regs.err = errors.New("registry expired")
	want := "tls-sha256:" + certs.Fingerprint(cert)[:16]
	for pattern, kind := range kinds {
		t.Run(pattern, func(t *testing.T) {
			method, path, _ := strings.Cut(pattern, " ")
			r := httptest.NewRequest(method, path, bytes.NewReader([]byte("a token")))
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: cert}}}
			rec := httptest.NewRecorder()
			before := len(st.appended)
			h.ServeHTTP(rec, r)
			if got := errorCode(t, rec); got != schemas.CodeRegistryUnavailable || rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("%d %q, want 503 registry_unavailable", rec.Code, got)
			}
			if len(st.appended) != before+1 {
				t.Fatalf("%d entries logged, want 1", len(st.appended)-before)
			}
			e := st.appended[before]
			if e.Code != schemas.CodeRegistryUnavailable || e.Kind != kind || e.Requester != want || e.Decision != schemas.DecisionDeny {
				t.Fatalf("entry %+v, want a %s denial against %s", e, kind, want)
			}
		})
	}
	// A request without a client certificate is still refused before any
	// route, unlogged (the TLS layer refuses it first in a real listener).
	r := httptest.NewRequest("POST", "/v1/feed", nil)
	r.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	before := len(st.appended)
	h.ServeHTTP(rec, r)
	if got := errorCode(t, rec); got != schemas.CodeUnknownMember || len(st.appended) != before {
		t.Fatalf("no certificate: %q, %d entries logged", got, len(st.appended)-before)
	}
}

type stubNegative struct{}

func (stubNegative) Negative(string) bool { return false }
