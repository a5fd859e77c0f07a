package server

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// fakeView is a registry snapshot: members by certificate fingerprint,
// signing keys, registrar keys.
type fakeView struct {
	byFP       map[string]string
	signing    map[string]ed25519.PublicKey // member/kid
	registrars map[string]ed25519.PublicKey // member/kid
}

func (v *fakeView) Member(id string) (*schemas.Member, bool) { return nil, false }
func (v *fakeView) MemberByFingerprint(fp string) (string, bool) {
	id, ok := v.byFP[fp]
	return id, ok
}
func (v *fakeView) SigningKey(m, kid string) (ed25519.PublicKey, bool) {
	k, ok := v.signing[m+"/"+kid]
	return k, ok
}
func (v *fakeView) RegistrarKey(m, kid string) (ed25519.PublicKey, bool) {
	k, ok := v.registrars[m+"/"+kid]
	return k, ok
}
func (v *fakeView) EncryptionKey(string) (*ecdh.PublicKey, string, bool) { return nil, "", false }

type fakeRegistries struct {
	view *fakeView
	err  error
}

func (f *fakeRegistries) Snapshot(time.Time) (RegistryView, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.view, nil
}

// fakeStore records the calls made to it, in order; the methods not
// overridden are not expected to be called.
type fakeStore struct {
	Store
	seen      bool
	commitErr error
	revokeErr error
	calls     []string
	appended  []schemas.InquiryEntry
	committed []schemas.InquiryEntry
}

func (s *fakeStore) RequestSeen(context.Context, string, string) (bool, error) {
	s.calls = append(s.calls, "seen")
	return s.seen, nil
}

func (s *fakeStore) ConsentUses(context.Context, string, string) (int, error) { return 0, nil }

func (s *fakeStore) ConsentUsedElsewhere(context.Context, string, string) (bool, error) {
	return false, nil
}

func (s *fakeStore) Revoke(context.Context, store.Revocation) error {
	s.calls = append(s.calls, "revoke")
	return s.revokeErr
}

func (s *fakeStore) CommitInquiry(_ context.Context, c store.Commit) (store.Appended, error) {
	s.calls = append(s.calls, "commit")
	if s.commitErr != nil {
		return store.Appended{}, s.commitErr
	}
	var e schemas.InquiryEntry
	if err := json.Unmarshal(c.Leaf.Entry, &e); err == nil {
		s.committed = append(s.committed, e)
	}
	return store.Appended{Index: uint64(len(s.calls))}, nil
}

func (s *fakeStore) AppendInquiry(_ context.Context, l store.Leaf) (store.Appended, error) {
	s.calls = append(s.calls, "append")
	var e schemas.InquiryEntry
	if err := json.Unmarshal(l.Entry, &e); err == nil {
		s.appended = append(s.appended, e)
	}
	return store.Appended{Index: uint64(len(s.calls))}, nil
}

type countingDecider struct{ n int }

func (d *countingDecider) Decide(context.Context, policy.Input) (policy.Result, error) {
	d.n++
	return policy.Result{}, nil
}

func testProvider(regs Registries, st *fakeStore, now time.Time) *Provider {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := func() time.Time { return now }
	inq := gate.NewInquiries(st, log, clock)
	return &Provider{log: log, inq: inq, opts: Options{
		ID: "bank-a", Registries: regs, Store: st, Sequencer: inq.Sequencer(), Policy: &countingDecider{},
		Catalog: map[string]string{"tax_payment": "public", "judicial_enforcement": "restricted"},
		Skew:    time.Minute, Clock: clock,
	}}
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) schemas.Code {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != schemas.ContentTypeError {
		t.Fatalf("content type %q, want %q (body %q)", ct, schemas.ContentTypeError, rec.Body.String())
	}
	var body schemas.ErrorBody
	if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Error.Code
}

// TestMemberRoutesRecheckMembership: a route added through MemberRoutes is
// reached only while the TLS client certificate names a member of the
// registry in force, not merely one the handshake accepted.
func TestMemberRoutesRecheckMembership(t *testing.T) {
	cert := []byte("client certificate")
	view := &fakeView{byFP: map[string]string{certs.Fingerprint(cert): "tax-dept"}}
	regs := &fakeRegistries{view: view}
	p := testProvider(regs, &fakeStore{}, time.Now())
	called := 0
	p.opts.MemberRoutes = map[string]http.Handler{
		"GET /v1/extra/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called++ }),
	}
	h := p.MemberHandler(1 << 20)
	do := func(withCert bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/v1/extra/thing", nil)
		r.TLS = &tls.ConnectionState{}
		if withCert {
			r.TLS.PeerCertificates = []*x509.Certificate{{Raw: cert}}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	if rec := do(true); rec.Code != http.StatusOK || called != 1 {
		t.Fatalf("member: status %d, called %d", rec.Code, called)
	}
	if rec := do(false); errorCode(t, rec) != schemas.CodeUnknownMember || called != 1 {
		t.Fatalf("no certificate reached the route")
	}
	// The member is removed from the registry; its connection stays up.
	delete(view.byFP, certs.Fingerprint(cert))
	rec := do(true)
	if got := errorCode(t, rec); got != schemas.CodeUnknownMember || rec.Code != schemas.CodeUnknownMember.Status() {
		t.Fatalf("removed member: %d %q", rec.Code, got)
	}
	regs.err = errors.New("registry expired")
	if got := errorCode(t, do(true)); got != schemas.CodeRegistryUnavailable {
		t.Fatalf("no registry: %q", got)
	}
	if called != 1 {
		t.Fatalf("route called %d times, want 1", called)
	}
}

// TestDiscoverReplayPrecheck: a replayed discovery is refused, logged, with
// replay before the policy is asked about any category.
func TestDiscoverReplayPrecheck(t *testing.T) {
	now := time.Unix(1_770_000_000, 0)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	kid := keys.SigningKID(pub)
	view := &fakeView{signing: map[string]ed25519.PublicKey{"tax-dept/" + kid: pub}}
	payload, err := json.Marshal(schemas.DiscoverClaims{ID: "d-1", IssuedAt: now.Unix(), Issuer: "tax-dept",
		Audience: "bank-a", Purpose: "loan_approval"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jose.Sign(priv, kid, schemas.TypDiscover, payload)
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{seen: true}
	p := testProvider(&fakeRegistries{view: view}, st, now)
	a := p.Discover(context.Background(), "tax-dept", tok)
	if a.Err == nil || a.Err.Code != schemas.CodeReplay {
		t.Fatalf("answer %+v, want replay", a.Err)
	}
	if n := p.opts.Policy.(*countingDecider).n; n != 0 {
		t.Fatalf("policy evaluated %d times for a replay", n)
	}
	if a.LogIndex == nil || len(st.appended) != 1 || st.appended[0].Code != schemas.CodeReplay ||
		st.appended[0].Kind != schemas.KindDiscovery || st.appended[0].Decision != schemas.DecisionDeny {
		t.Fatalf("replay not logged: %+v", st.appended)
	}
	for _, c := range st.calls {
		if c == "commit" {
			t.Fatalf("calls %v: a replay reached the commit", st.calls)
		}
	}
}

// TestRevokeStoredOnlyAfterLogCommit: the revocation is stored only once its
// log entry committed; a replay or a log failure stores nothing, and a store
// failure after the commit is logged as a denial.
func TestRevokeStoredOnlyAfterLogCommit(t *testing.T) {
	now := time.Unix(1_770_000_000, 0)
	regPub, regPriv, _ := ed25519.GenerateKey(nil)
	subPub, subPriv, _ := ed25519.GenerateKey(nil)
	regKID := keys.SigningKID(regPub)
	view := &fakeView{registrars: map[string]ed25519.PublicKey{"market-reg/" + regKID: regPub}}
	cert, err := consent.IssueSubjectCert(regPriv, "market-reg", regKID, "person:alice", schemas.SubjectPerson, subPub, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := consent.Revoke(subPriv, cert, "bank-a", "consent-1", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		commitErr error
		revokeErr error
		code      schemas.Code // "" for success
		calls     []string
	}{
		{"ok", nil, nil, "", []string{"commit", "revoke"}},
		{"replay", store.ErrReplay, nil, schemas.CodeReplay, []string{"commit", "append"}},
		{"log down", errors.New("disk full"), nil, schemas.CodeLogUnavailable, []string{"commit"}},
		{"store down", nil, errors.New("db gone"), schemas.CodeStoreUnavailable, []string{"commit", "revoke", "append"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStore{commitErr: tt.commitErr, revokeErr: tt.revokeErr}
			p := testProvider(&fakeRegistries{view: view}, st, now)
			a := p.Revoke(context.Background(), tok)
			switch {
			case tt.code == "" && a.Err != nil:
				t.Fatalf("err %v", a.Err)
			case tt.code != "" && (a.Err == nil || a.Err.Code != tt.code):
				t.Fatalf("answer %+v, want %s", a.Err, tt.code)
			}
			if len(st.calls) != len(tt.calls) {
				t.Fatalf("calls %v, want %v", st.calls, tt.calls)
			}
			for i := range tt.calls {
				if st.calls[i] != tt.calls[i] {
					t.Fatalf("calls %v, want %v", st.calls, tt.calls)
				}
			}
			if tt.name == "store down" {
				if len(st.committed) != 1 || st.committed[0].Decision != schemas.DecisionAllow {
					t.Fatalf("committed %+v", st.committed)
				}
				d := st.appended[0]
				if d.Decision != schemas.DecisionDeny || d.Code != schemas.CodeStoreUnavailable ||
					d.RequestID != st.committed[0].RequestID || d.ConsentID != "consent-1" || d.Kind != schemas.KindRevocation {
					t.Fatalf("failure entry %+v", d)
				}
				if a.LogIndex == nil {
					t.Fatal("no log index for the failure entry")
				}
			}
		})
	}
}

// A provider whose decider cannot say the policy's fair-use limits is
// refused at construction: it would enforce none (a decider wrapped for
// speed, such as policy.Pool, must come with QueryLimits).
func TestNewRequiresQueryLimits(t *testing.T) {
	nk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{ID: "tax-dept", Keys: nk, Registries: &fakeRegistries{view: &fakeView{}}, Store: &fakeStore{}, Policy: &countingDecider{}, Skew: time.Minute}
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "QueryLimits") {
		t.Fatalf("New without query limits: %v", err)
	}
}

func (*fakeView) SubjectCertRevoked(string, string) bool { return false }
