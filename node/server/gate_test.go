package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/schematest"
)

// memberFixture is a provider (bank-a) and one member, tax-dept, known by
// its client certificate and signing key.
type memberFixture struct {
	now  time.Time
	cert []byte
	priv ed25519.PrivateKey
	kid  string
	st   *fakeStore
	p    *Provider
}

func newMemberFixture(t *testing.T) *memberFixture {
	t.Helper()
	f := &memberFixture{now: time.Unix(1_770_000_000, 0), cert: []byte("tax-dept client certificate"), st: &fakeStore{}}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.priv, f.kid = priv, keys.SigningKID(pub)
	view := &fakeView{byFP: map[string]string{certs.Fingerprint(f.cert): "tax-dept"},
		signing: map[string]ed25519.PublicKey{"tax-dept/" + f.kid: pub}}
	f.p = testProvider(&fakeRegistries{view: view}, f.st, f.now)
	return f
}

func (f *memberFixture) sign(t *testing.T, typ string, claims any) []byte {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jose.Sign(f.priv, f.kid, typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// post sends body to the member API as tax-dept.
func (f *memberFixture) post(route string, maxBody int64, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", strings.TrimPrefix(route, "POST "), bytes.NewReader(body))
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: f.cert}}}
	rec := httptest.NewRecorder()
	f.p.MemberHandler(maxBody).ServeHTTP(rec, r)
	return rec
}

// TestMemberBodyTooLargeIsLogged: a member's body over the limit is
// refused body_too_large and logged as a denial of its kind, naming the
// requester, like every other refusal on the member API.
func TestMemberBodyTooLargeIsLogged(t *testing.T) {
	for route, kind := range map[string]string{RouteQuery: schemas.KindQuery, RouteDiscover: schemas.KindDiscovery} {
		t.Run(route, func(t *testing.T) {
			f := newMemberFixture(t)
			rec := f.post(route, 64, bytes.Repeat([]byte("x"), 65))
			if got := errorCode(t, rec); got != schemas.CodeBodyTooLarge {
				t.Fatalf("code %q, want body_too_large", got)
			}
			if len(f.st.appended) != 1 {
				t.Fatalf("%d entries logged, want 1", len(f.st.appended))
			}
			e := f.st.appended[0]
			if e.Code != schemas.CodeBodyTooLarge || e.Kind != kind || e.Requester != "tax-dept" || e.Decision != schemas.DecisionDeny {
				t.Fatalf("entry %+v", e)
			}
		})
	}
}

// TestMemberRequestsRefuseAmbiguousClaims: a query or a discovery signed
// with a duplicate member (two "sub") or a member in another case
// ("PURPOSE" beside "purpose") is refused malformed_request and logged;
// encoding/json alone would answer it, reading the last duplicate.
func TestMemberRequestsRefuseAmbiguousClaims(t *testing.T) {
	f := newMemberFixture(t)
	f.st.seen = true // the valid requests stop at the replay check, after their claims
	query := f.sign(t, schemas.TypQuery, schemas.QueryClaims{ID: "q-1", IssuedAt: f.now.Unix(), Issuer: "tax-dept",
		Audience: "bank-a", Subject: "91350100M000100Y43", Purpose: "loan_approval", Categories: []string{"tax_payment"}})
	discover := f.sign(t, schemas.TypDiscover, schemas.DiscoverClaims{ID: "d-1", IssuedAt: f.now.Unix(), Issuer: "tax-dept",
		Audience: "bank-a", Purpose: "loan_approval"})
	for _, tt := range []struct {
		name string
		tok  []byte
		ask  func(context.Context, string, []byte) Answer
	}{
		{"query", query, f.p.Query},
		{"discover", discover, f.p.Discover},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a := tt.ask(context.Background(), "tax-dept", tt.tok); a.Err == nil || a.Err.Code != schemas.CodeReplay {
				t.Fatalf("the valid request: %v, want replay", a.Err)
			}
			variants := schematest.NameVariants(t, tt.tok, f.priv)
			names := map[string]bool{}
			for _, v := range variants {
				names[v.Name] = true
				t.Run(v.Name, func(t *testing.T) {
					before := len(f.st.appended)
					a := tt.ask(context.Background(), "tax-dept", v.Token)
					if a.Err == nil || a.Err.Code != schemas.CodeMalformedRequest || a.LogIndex == nil {
						t.Fatalf("answer %+v, want malformed_request, logged", a.Err)
					}
					if len(f.st.appended) != before+1 || f.st.appended[before].Code != schemas.CodeMalformedRequest {
						t.Fatalf("refusal not logged")
					}
				})
			}
			if tt.name == "query" && (!names[`duplicate "sub"`] || !names[`"PURPOSE" beside "purpose"`]) {
				t.Fatalf("variants %v lack the two cases of the issue", names)
			}
		})
	}
}

// TestRegistryExpiredRefusalIsLogged: with no valid registry a query or a
// discovery is refused registry_unavailable and still logged, against the
// client's certificate since no registry names the member.
func TestRegistryExpiredRefusalIsLogged(t *testing.T) {
	for route, kind := range map[string]string{RouteQuery: schemas.KindQuery, RouteDiscover: schemas.KindDiscovery} {
		t.Run(route, func(t *testing.T) {
			f := newMemberFixture(t)
			f.p.opts.Registries.(*fakeRegistries).err = errors.New("registry expired")
			rec := f.post(route, 1<<20, []byte("a token"))
			if got := errorCode(t, rec); got != schemas.CodeRegistryUnavailable {
				t.Fatalf("code %q, want registry_unavailable", got)
			}
			if len(f.st.appended) != 1 {
				t.Fatalf("%d entries logged, want 1", len(f.st.appended))
			}
			e := f.st.appended[0]
			want := "tls-sha256:" + certs.Fingerprint(f.cert)[:16]
			if e.Code != schemas.CodeRegistryUnavailable || e.Kind != kind || e.Requester != want || e.Decision != schemas.DecisionDeny {
				t.Fatalf("entry %+v, want requester %s", e, want)
			}
		})
	}
}
