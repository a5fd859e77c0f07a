package consent_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

// Parties and ids used throughout the tests. The USCCs are valid (both check
// characters verified against domain.md's algorithm).
const (
	registrarID   = "bureau-registrar"
	bankID        = "bank-a"
	otherBankID   = "bank-b"
	providerID    = "dept-tax"
	otherProvider = "dept-customs"
	enterpriseA   = "91350100M000100Y43"
	enterpriseB   = "91110000802100433B"
	purpose       = "loan_approval"
	skew          = 30 * time.Second
	t0Unix        = 1_750_000_000
)

// at is t0 plus d.
func at(d time.Duration) time.Time { return time.Unix(t0Unix, 0).Add(d) }

// member is a registry member as the test registry holds it.
type member struct {
	roles []string
	keys  map[string]ed25519.PublicKey
}

// registry is a tiny in-memory consent.Registrars.
type registry map[string]member

func (r registry) RegistrarKey(memberID, kid string) (ed25519.PublicKey, bool) {
	m, ok := r[memberID]
	if !ok || !slices.Contains(m.roles, "registrar") {
		return nil, false
	}
	k, ok := m.keys[kid]
	return k, ok
}

var _ consent.Registrars = registry{}

// seededKey is a deterministic Ed25519 key, so fuzz seeds are reproducible.
func seededKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func kidOf(k ed25519.PrivateKey) string { return keys.SigningKID(k.Public().(ed25519.PublicKey)) }

// fixture is a federation with one registrar and one non-registrar member
// (the bank), and two certified enterprises A and B.
type fixture struct {
	reg          registry
	registrarKey ed25519.PrivateKey
	bankKey      ed25519.PrivateKey // a member key without the registrar role
	keyA, keyB   ed25519.PrivateKey
	certA, certB []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		registrarKey: seededKey(1),
		bankKey:      seededKey(2),
		keyA:         seededKey(3),
		keyB:         seededKey(4),
	}
	f.reg = registry{
		registrarID: {roles: []string{"registrar"}, keys: map[string]ed25519.PublicKey{kidOf(f.registrarKey): f.registrarKey.Public().(ed25519.PublicKey)}},
		bankID:      {roles: []string{"requester"}, keys: map[string]ed25519.PublicKey{kidOf(f.bankKey): f.bankKey.Public().(ed25519.PublicKey)}},
	}
	f.certA = f.issue(t, enterpriseA, f.keyA)
	f.certB = f.issue(t, enterpriseB, f.keyB)
	return f
}

// issue certifies subject's key for one year from an hour before t0.
func (f *fixture) issue(t testing.TB, subject string, key ed25519.PrivateKey) []byte {
	t.Helper()
	tok, err := consent.IssueSubjectCert(f.registrarKey, registrarID, kidOf(f.registrarKey), subject,
		schemas.SubjectEnterprise, key.Public().(ed25519.PublicKey), 365*24*time.Hour, at(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// certClaims are valid certificate claims for enterprise A's key, for crafting.
func (f *fixture) certClaims(t testing.TB) schemas.SubjectCertClaims {
	t.Helper()
	jwk, err := json.Marshal(keys.SigningJWK(f.keyA.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return schemas.SubjectCertClaims{
		ID: "cert-1", Issuer: registrarID, Subject: enterpriseA, SubjectType: schemas.SubjectEnterprise,
		IssuedAt: t0Unix, Expiry: t0Unix + 3600, Confirmation: schemas.Confirmation{JWK: jwk},
	}
}

// consentClaims are the claims a test consent is granted with: to bankID,
// for providerID, from t0 + 1 h to t0 + 2 h.
func consentClaims() schemas.ConsentClaims {
	return schemas.ConsentClaims{
		Requester:  bankID,
		Providers:  []string{providerID},
		Purpose:    purpose,
		Categories: []string{"tax_payment", "administrative_penalty"},
		NotBefore:  t0Unix + 3600,
		Expiry:     t0Unix + 7200,
		MaxUses:    3,
	}
}

// grantA is a consent by enterprise A with consentClaims, granted at t0.
func (f *fixture) grantA(t testing.TB) []byte {
	t.Helper()
	tok, err := consent.Grant(f.keyA, f.certA, consentClaims(), at(0))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fullConsentClaims are complete consent claims by A, as Grant would sign them.
func (f *fixture) fullConsentClaims() schemas.ConsentClaims {
	c := consentClaims()
	c.ID, c.Issuer, c.Subject, c.IssuedAt, c.SubjectCert = "consent-1", enterpriseA, enterpriseA, t0Unix, string(f.certA)
	return c
}

// signJSON signs the JSON of claims with key, naming key's thumbprint as kid.
func signJSON(t testing.TB, key ed25519.PrivateKey, typ string, claims any) []byte {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return signRaw(t, key, kidOf(key), typ, payload)
}

func signRaw(t testing.TB, key ed25519.PrivateKey, kid, typ string, payload []byte) []byte {
	t.Helper()
	tok, err := jose.Sign(key, kid, typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// withPayload replaces a token's payload, keeping its header and signature.
func withPayload(tok []byte, payload []byte) []byte {
	parts := bytes.Split(tok, []byte{'.'})
	parts[1] = []byte(base64.RawURLEncoding.EncodeToString(payload))
	return bytes.Join(parts, []byte{'.'})
}

// flipSignature changes one bit of a token's signature.
func flipSignature(tok []byte) []byte {
	parts := bytes.Split(bytes.Clone(tok), []byte{'.'})
	sig, _ := base64.RawURLEncoding.DecodeString(string(parts[2]))
	sig[0] ^= 1
	parts[2] = []byte(base64.RawURLEncoding.EncodeToString(sig))
	return bytes.Join(parts, []byte{'.'})
}

// mutateJSON decodes tok's payload into a map, lets edit change it, and
// re-signs it with key.
func mutateJSON(t testing.TB, tok []byte, key ed25519.PrivateKey, typ string, edit func(map[string]any)) []byte {
	t.Helper()
	parts := bytes.Split(tok, []byte{'.'})
	raw, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	return signJSON(t, key, typ, m)
}

// wantCode fails unless err is a *schemas.Error with code whose peer-facing
// message echoes no token contents.
func wantCode(t *testing.T, err error, code schemas.Code) {
	t.Helper()
	var se *schemas.Error
	if !errors.As(err, &se) {
		t.Fatalf("got error %v, want *schemas.Error with code %s", err, code)
	}
	if se.Code != code {
		t.Fatalf("got code %s (%v), want %s", se.Code, err, code)
	}
	t.Logf("rejected: %v", err)
	for _, secret := range []string{enterpriseA, enterpriseB, purpose, "tax_payment", "person:"} {
		if strings.Contains(se.Message, secret) {
			t.Fatalf("message %q echoes token contents", se.Message)
		}
	}
}

func (registry) SubjectCertRevoked(string, string) bool { return false }
