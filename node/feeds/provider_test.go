package feeds

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

const (
	tProvider   = "prov"
	tSubscriber = "sub"
	tFeed       = "court_judgments"
)

// fakeReg is a registry with one subscriber member.
type fakeReg struct{ sub party }

func (r fakeReg) Snapshot(time.Time) (gate.RegistryView, error) { return r, nil }
func (r fakeReg) Member(id string) (*schemas.Member, bool)      { return nil, false }
func (r fakeReg) MemberByFingerprint(string) (string, bool)     { return tSubscriber, true }
func (r fakeReg) SigningKey(id, kid string) (ed25519.PublicKey, bool) {
	if id != tSubscriber || kid != r.sub.kid {
		return nil, false
	}
	return r.sub.sign.Public().(ed25519.PublicKey), true
}
func (r fakeReg) RegistrarKey(string, string) (ed25519.PublicKey, bool) { return nil, false }
func (r fakeReg) EncryptionKey(id string) (*ecdh.PublicKey, string, bool) {
	if id != tSubscriber {
		return nil, "", false
	}
	return r.sub.enc.PublicKey(), "enc", true
}

// fakeStore is the change reader, replay guard and inquiry log.
type fakeStore struct {
	mu        sync.Mutex
	used      map[string]bool
	entries   []schemas.InquiryEntry
	commits   int
	appendErr error
	// gate, if set, holds CommitInquiry until closed (to line pulls up).
	gate chan struct{}
}

func (s *fakeStore) Changes(context.Context, string, uint64, int) ([]store.Change, error) {
	return nil, nil
}
func (s *fakeStore) RequestSeen(_ context.Context, req, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used[req+"\x00"+id], nil
}
func (s *fakeStore) CommitInquiry(_ context.Context, c store.Commit) (store.Appended, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Requester == "" || c.RequestID == "" {
		return store.Appended{}, errors.New("commit without request id")
	}
	k := c.Requester + "\x00" + c.RequestID
	if s.used[k] {
		return store.Appended{}, store.ErrReplay
	}
	if s.used == nil {
		s.used = map[string]bool{}
	}
	s.used[k] = true
	s.commits++
	return s.add(c.Leaf)
}
func (s *fakeStore) AppendInquiry(_ context.Context, l store.Leaf) (store.Appended, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appendErr != nil {
		return store.Appended{}, s.appendErr
	}
	return s.add(l)
}
func (s *fakeStore) add(l store.Leaf) (store.Appended, error) {
	var en schemas.InquiryEntry
	if err := json.Unmarshal(l.Entry, &en); err != nil {
		return store.Appended{}, err
	}
	s.entries = append(s.entries, en)
	return store.Appended{Index: uint64(len(s.entries) - 1), LeafHash: l.LeafHash}, nil
}
func (s *fakeStore) denials() []schemas.InquiryEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []schemas.InquiryEntry
	for _, e := range s.entries {
		if e.Decision == schemas.DecisionDeny {
			out = append(out, e)
		}
	}
	return out
}

type allowAll struct{}

func (allowAll) Decide(context.Context, policy.Input) (policy.Result, error) {
	return policy.Result{Allow: true, Revision: "r1"}, nil
}

type noNegative struct{}

func (noNegative) Negative(string) bool { return false }

type fixture struct {
	p   *Provider
	st  *fakeStore
	sub party
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	nk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: &fakeStore{}, sub: newParty(t), now: time.Unix(1_800_000_000, 0)}
	f.p, err = NewProvider(ProviderOptions{ID: tProvider, Keys: nk, Registries: fakeReg{f.sub}, Changes: f.st,
		Log: f.st, Policy: allowAll{}, Levels: map[string]string{tFeed: "public"}, Negative: noNegative{},
		Clock: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) request() Request {
	return Request{Issuer: tSubscriber, Audience: tProvider, IssuedAt: f.now.Unix(), ID: "req-1", Feed: tFeed}
}

func (f *fixture) token(t *testing.T, req any) []byte {
	t.Helper()
	payload, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jose.Sign(f.sub.sign, f.sub.kid, TypRequest, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func wantCode(t *testing.T, r Result, code schemas.Code) {
	t.Helper()
	if r.Err == nil || r.Err.Code != code {
		t.Fatalf("got %+v, want %s", r.Err, code)
	}
}

func TestPullReplayRefusedAndLogged(t *testing.T) {
	f := newFixture(t)
	body := f.token(t, f.request())
	r := f.p.Pull(context.Background(), tSubscriber, body)
	if r.Err != nil {
		t.Fatalf("first pull: %v", r.Err)
	}
	if f.st.commits != 1 {
		t.Fatalf("empty batch made %d commits, want 1", f.st.commits)
	}
	if _, err := Open(r.Sealed, f.sub.enc, func(kid string) (ed25519.PublicKey, bool) {
		return f.p.o.Keys.SigningPublic(), kid == f.p.o.Keys.SigningKID
	}); err != nil {
		t.Fatalf("open batch: %v", err)
	}
	r = f.p.Pull(context.Background(), tSubscriber, body)
	wantCode(t, r, schemas.CodeReplay)
	if r.LogIndex == nil || r.RequestID != "req-1" {
		t.Fatalf("replay answer not logged: %+v", r)
	}
	d := f.st.denials()
	if len(d) != 1 || d[0].Code != schemas.CodeReplay || d[0].RequestID != "req-1" || d[0].Requester != tSubscriber || d[0].RequestDigest == "" {
		t.Fatalf("denials = %+v", d)
	}
}

// Pulls with the same id that all pass the RequestSeen pre-check are
// answered once: the commit of the first leaf decides.
func TestPullConcurrentDuplicatesAnsweredOnce(t *testing.T) {
	f := newFixture(t)
	f.st.gate = make(chan struct{})
	body := f.token(t, f.request())
	const n = 8
	results := make([]Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.p.Pull(context.Background(), tSubscriber, body)
		}()
	}
	time.Sleep(50 * time.Millisecond) // let every pull pass the pre-check
	close(f.st.gate)
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch {
		case r.Err == nil:
			ok++
		case r.Err.Code != schemas.CodeReplay:
			t.Fatalf("unexpected %v", r.Err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d pulls answered, want exactly 1", ok)
	}
	if d := f.st.denials(); len(d) != n-1 {
		t.Fatalf("%d replay denials logged, want %d", len(d), n-1)
	}
}

func TestPullEarlyDenialsLogged(t *testing.T) {
	other := newParty(t)
	cases := []struct {
		name string
		body func(f *fixture) []byte
		code schemas.Code
	}{
		{"not a JWS", func(f *fixture) []byte { return []byte("garbage") }, schemas.CodeMalformedRequest},
		{"bad signature", func(f *fixture) []byte {
			// Flip a bit of the decoded signature and re-encode it canonically,
			// so the token stays well-formed and only the signature is wrong.
			tok := f.token(t, f.request())
			parts := bytes.Split(tok, []byte("."))
			sig, err := base64.RawURLEncoding.DecodeString(string(parts[2]))
			if err != nil {
				t.Fatal(err)
			}
			sig[10] ^= 1
			parts[2] = []byte(base64.RawURLEncoding.EncodeToString(sig))
			return bytes.Join(parts, []byte("."))
		}, schemas.CodeBadSignature},
		{"unregistered kid", func(f *fixture) []byte {
			payload, _ := json.Marshal(f.request())
			tok, _ := jose.Sign(other.sign, other.kid, TypRequest, payload)
			return tok
		}, schemas.CodeBadSignature},
		{"malformed claims", func(f *fixture) []byte {
			return f.token(t, map[string]any{"iss": tSubscriber, "aud": tProvider, "jti": "x", "feed": tFeed, "extra": 1})
		}, schemas.CodeMalformedRequest},
		{"iss mismatch", func(f *fixture) []byte { r := f.request(); r.Issuer = "mallory"; return f.token(t, r) }, schemas.CodeIdentityMismatch},
		{"wrong audience", func(f *fixture) []byte { r := f.request(); r.Audience = "elsewhere"; return f.token(t, r) }, schemas.CodeWrongAudience},
		{"clock skew", func(f *fixture) []byte { r := f.request(); r.IssuedAt -= 3600; return f.token(t, r) }, schemas.CodeClockSkew},
		{"empty jti", func(f *fixture) []byte { r := f.request(); r.ID = ""; return f.token(t, r) }, schemas.CodeMalformedRequest},
		{"unknown feed", func(f *fixture) []byte { r := f.request(); r.Feed = "nope"; return f.token(t, r) }, schemas.CodeCategoryUnknown},
		{"huge cursor", func(f *fixture) []byte { r := f.request(); r.After = math.MaxInt64 + 1; return f.token(t, r) }, schemas.CodeMalformedRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			body := c.body(f)
			r := f.p.Pull(context.Background(), tSubscriber, body)
			wantCode(t, r, c.code)
			if r.LogIndex == nil {
				t.Fatal("denial has no log index")
			}
			d := f.st.denials()
			if len(d) != 1 || d[0].Code != c.code || d[0].Requester != tSubscriber || d[0].Kind != KindDelivery || d[0].RequestDigest == "" {
				t.Fatalf("denials = %+v", d)
			}
			if f.st.commits != 0 {
				t.Fatal("a denied pull committed its request id")
			}
		})
	}
}

func TestPullHugeCursorRefused(t *testing.T) {
	f := newFixture(t)
	r := f.request()
	r.After = math.MaxUint64
	res := f.p.Pull(context.Background(), tSubscriber, f.token(t, r))
	wantCode(t, res, schemas.CodeMalformedRequest)
	r.After = math.MaxInt64 // the largest cursor the stores can hold is fine
	r.ID = "req-2"
	if res := f.p.Pull(context.Background(), tSubscriber, f.token(t, r)); res.Err != nil {
		t.Fatalf("cursor MaxInt64: %v", res.Err)
	}
}

func TestPullDenialFailsClosedWithoutLog(t *testing.T) {
	f := newFixture(t)
	f.st.appendErr = errors.New("disk full")
	r := f.request()
	r.Audience = "elsewhere"
	res := f.p.Pull(context.Background(), tSubscriber, f.token(t, r))
	wantCode(t, res, schemas.CodeLogUnavailable)
	if res.LogIndex != nil {
		t.Fatal("unlogged denial carries a log index")
	}
}

func serveHTTP(f *fixture, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/feed", bytes.NewReader(body))
	req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: []byte("client-cert")}}}
	w := httptest.NewRecorder()
	f.p.Handler().ServeHTTP(w, req)
	return w
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) schemas.ErrorDetail {
	t.Helper()
	var b schemas.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return b.Error
}

func TestHandlerOversizeBody(t *testing.T) {
	f := newFixture(t)
	w := serveHTTP(f, bytes.Repeat([]byte("a"), maxRequestBytes+1))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", w.Code)
	}
	e := decodeError(t, w)
	if e.Code != schemas.CodeBodyTooLarge || e.LogIndex == nil {
		t.Fatalf("error = %+v", e)
	}
	if d := f.st.denials(); len(d) != 1 || d[0].Code != schemas.CodeBodyTooLarge || d[0].Requester != tSubscriber {
		t.Fatalf("denials = %+v", d)
	}
}

func TestHandlerErrorCarriesRequestIDAndLogIndex(t *testing.T) {
	f := newFixture(t)
	body := f.token(t, f.request())
	if w := serveHTTP(f, body); w.Code != http.StatusOK || w.Header().Get("Content-Type") != ContentTypeAge {
		t.Fatalf("first pull: %d %s", w.Code, w.Body.String())
	}
	w := serveHTTP(f, body)
	e := decodeError(t, w)
	if e.Code != schemas.CodeReplay || e.RequestID != "req-1" || e.LogIndex == nil {
		t.Fatalf("error = %+v", e)
	}
}

func (fakeReg) SubjectCertRevoked(string, string) bool { return false }
