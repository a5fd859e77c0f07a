package registry

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/transport"
	"github.com/creditexchange/node/schemas"
)

// Compile-time checks: the registry and the Watcher serve the TLS layer.
var (
	_ transport.MemberLookup = (*Registry)(nil)
	_ transport.MemberLookup = (*Watcher)(nil)
)

// t0 is the fixed "now" of these tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Valid USCCs (check characters computed per GB 32100-2015).
var usccs = []string{"91110000100000008J", "91310000200000013W", "91440300300000029E", "12100000400000034C"}

type testMember struct {
	keys    *keys.NodeKeys
	certPEM []byte
	member  schemas.Member
}

type federation struct {
	authority ed25519.PrivateKey
	kid       string
	ca        *certs.CA
	members   map[string]*testMember
	doc       schemas.Registry
}

func newFederation(t testing.TB) *federation {
	t.Helper()
	auth, err := GenerateAuthority()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certs.NewCA("Test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := &federation{
		authority: auth,
		kid:       keys.SigningKID(auth.Public().(ed25519.PublicKey)),
		ca:        ca,
		members:   make(map[string]*testMember),
		doc: schemas.Registry{
			Federation: "test-federation",
			Serial:     1,
			IssuedAt:   t0.Add(-time.Hour),
			ExpiresAt:  t0.Add(24 * time.Hour),
		},
	}
	for i, m := range []struct {
		id    string
		roles []string
	}{
		{"bank-a", []string{RoleBank}},
		{"bureau-a", []string{RoleBureau}},
		{"dept-tax", []string{RoleDepartment, RoleRegistrar}},
		{"regulator", []string{RoleRegulator}},
	} {
		f.add(t, m.id, usccs[i], m.roles)
	}
	return f
}

func (f *federation) add(t testing.TB, id, code string, roles []string) *testMember {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := f.ca.IssueNode(id, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(k.PublicJWKS())
	if err != nil {
		t.Fatal(err)
	}
	m, err := MemberFromParts(MemberParts{
		ID: id, Organisation: "Org " + id, USCC: code, Roles: roles, Jurisdiction: "CN-11",
		Endpoint: "https://127.0.0.1:7443", PublicEndpoint: "https://127.0.0.1:8443",
		Keys: jwks, CertPEM: certPEM,
	})
	if err != nil {
		t.Fatal(err)
	}
	tm := &testMember{keys: k, certPEM: certPEM, member: m}
	f.members[id] = tm
	f.doc.Members = append(f.doc.Members, m)
	return tm
}

func (f *federation) sign(t testing.TB) []byte {
	t.Helper()
	tok, err := Sign(&f.doc, f.authority, f.kid)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *federation) public() ed25519.PublicKey { return f.authority.Public().(ed25519.PublicKey) }

// signRaw signs an arbitrary payload as a registry, bypassing Sign's checks,
// to reach Verify's document validation.
func (f *federation) signRaw(t testing.TB, payload []byte) []byte {
	t.Helper()
	tok, err := jose.Sign(f.authority, f.kid, schemas.TypRegistry, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoundTrip(t *testing.T) {
	f := newFederation(t)
	tok := f.sign(t)
	reg, err := Verify(tok, f.public(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Serial() != 1 || reg.Federation() != "test-federation" || !reg.ExpiresAt().Equal(t0.Add(24*time.Hour)) {
		t.Errorf("serial %d federation %q expires %v", reg.Serial(), reg.Federation(), reg.ExpiresAt())
	}
	if !bytes.Equal(reg.Token(), tok) {
		t.Error("Token() is not the verified token")
	}
	for id, tm := range f.members {
		m, ok := reg.Member(id)
		if !ok || m.USCC != tm.member.USCC || m.Endpoint != tm.member.Endpoint {
			t.Errorf("Member(%s) = %+v, %v", id, m, ok)
		}
		fp, err := certs.FingerprintPEM(tm.certPEM)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := reg.MemberByFingerprint(fp); !ok || got != id {
			t.Errorf("MemberByFingerprint(%s's) = %q, %v", id, got, ok)
		}
		if got, ok := reg.TLSFingerprint(id); !ok || got != fp {
			t.Errorf("TLSFingerprint(%s) = %q, %v", id, got, ok)
		}
		pub, ok := reg.SigningKey(id, tm.keys.SigningKID)
		if !ok || !pub.Equal(tm.keys.SigningPublic()) {
			t.Errorf("SigningKey(%s) = %v", id, ok)
		}
		enc, kid, ok := reg.EncryptionKey(id)
		if !ok || kid != tm.keys.EncryptionKID || !enc.Equal(tm.keys.Encryption.PublicKey()) {
			t.Errorf("EncryptionKey(%s) = %s, %v", id, kid, ok)
		}
		_, isRegistrar := reg.RegistrarKey(id, tm.keys.SigningKID)
		if isRegistrar != (id == "dept-tax") {
			t.Errorf("RegistrarKey(%s) found = %v", id, isRegistrar)
		}
	}
	other := f.members["bank-a"].keys.SigningKID
	if _, ok := reg.SigningKey("bureau-a", other); ok {
		t.Error("SigningKey returned another member's key")
	}
	if _, ok := reg.Member("nobody"); ok {
		t.Error("unknown member found")
	}
	if _, ok := reg.MemberByFingerprint(strings.Repeat("0", 64)); ok {
		t.Error("unknown fingerprint found")
	}
	if got := reg.MembersWithRole(RoleRegistrar); len(got) != 1 || got[0].ID != "dept-tax" {
		t.Errorf("MembersWithRole(registrar) = %v", got)
	}
	if got := reg.MembersWithRole(RoleBank); len(got) != 1 || got[0].ID != "bank-a" {
		t.Errorf("MembersWithRole(bank) = %v", got)
	}
	if doc := reg.Doc(); len(doc.Members) != 4 || doc.Serial != 1 {
		t.Errorf("Doc() = %+v", doc)
	}
}

func TestRegistryIsImmutable(t *testing.T) {
	f := newFederation(t)
	reg, err := Verify(f.sign(t), f.public(), t0)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := reg.Member("bank-a")
	m.Roles[0] = RoleRegistrar
	m.Endpoint = "https://evil.example"
	doc := reg.Doc()
	doc.Members[0].Roles[0] = RoleRegistrar
	doc.Members[0].SigningKeys[0] = 'X'
	for _, mm := range reg.MembersWithRole(RoleBank) {
		mm.Roles[0] = RoleRegulator
	}
	again, _ := reg.Member("bank-a")
	if again.Roles[0] != RoleBank || again.Endpoint != "https://127.0.0.1:7443" {
		t.Errorf("member changed through a returned copy: %+v", again)
	}
	if reg.Doc().Members[0].SigningKeys[0] != '{' {
		t.Error("document changed through Doc()")
	}
	if _, ok := reg.RegistrarKey("bank-a", f.members["bank-a"].keys.SigningKID); ok {
		t.Error("bank-a became a registrar")
	}
}

func TestVerifyRejectsSignature(t *testing.T) {
	f := newFederation(t)
	tok := f.sign(t)
	parts := bytes.Split(tok, []byte("."))

	tampered := func() []byte {
		payload, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
		if err != nil {
			t.Fatal(err)
		}
		payload = bytes.Replace(payload, []byte(`"serial":1`), []byte(`"serial":9`), 1)
		return bytes.Join([][]byte{parts[0], []byte(base64.RawURLEncoding.EncodeToString(payload)), parts[2]}, []byte("."))
	}()

	impostor, err := GenerateAuthority()
	if err != nil {
		t.Fatal(err)
	}
	impostorKID := keys.SigningKID(impostor.Public().(ed25519.PublicKey))
	byImpostor, err := Sign(&f.doc, impostor, impostorKID)
	if err != nil {
		t.Fatal(err)
	}
	// The impostor's signature, labelled with the authority's kid.
	payload, _ := json.Marshal(f.doc)
	mislabelled, err := jose.Sign(impostor, f.kid, schemas.TypRegistry, payload)
	if err != nil {
		t.Fatal(err)
	}
	wrongType, err := jose.Sign(f.authority, f.kid, schemas.TypConsent, payload)
	if err != nil {
		t.Fatal(err)
	}
	// The right key, but named by another kid.
	otherKID, err := jose.Sign(f.authority, impostorKID, schemas.TypRegistry, payload)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(tok)
	flipped[len(flipped)-5] ^= 'A' ^ 'B'

	for name, tc := range map[string][]byte{
		"tampered payload":         tampered,
		"other authority":          byImpostor,
		"other key, right kid":     mislabelled,
		"right key, other kid":     otherKID,
		"wrong token type":         wrongType,
		"flipped signature":        flipped,
		"empty":                    nil,
		"not a JWS":                []byte("hello"),
		"alg none":                 []byte("eyJhbGciOiJub25lIn0." + string(parts[1]) + "."),
		"extra part":               append(bytes.Clone(tok), []byte(".x")...),
		"signature from elsewhere": bytes.Join([][]byte{parts[0], parts[1], bytes.Split(byImpostor, []byte("."))[2]}, []byte(".")),
	} {
		t.Run(name, func(t *testing.T) {
			reg, err := Verify(tc, f.public(), t0)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify = %v, %v; want ErrBadSignature", reg, err)
			}
		})
	}
	if _, err := Verify(byImpostor, impostor.Public().(ed25519.PublicKey), t0); err != nil {
		t.Errorf("control: impostor's token under impostor's key: %v", err)
	}
}

func TestVerifyTimes(t *testing.T) {
	f := newFederation(t)
	tok := f.sign(t)
	issued, expires := f.doc.IssuedAt, f.doc.ExpiresAt
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"at issued_at", issued, nil},
		{"1s before issued_at", issued.Add(-time.Second), ErrNotYetValid},
		{"1ns before issued_at", issued.Add(-time.Nanosecond), ErrNotYetValid},
		{"1s before expires_at", expires.Add(-time.Second), nil},
		{"at expires_at", expires, ErrExpired},
		{"1s after expires_at", expires.Add(time.Second), ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tok, f.public(), tc.now)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify at %v = %v, want %v", tc.now, err, tc.want)
			}
		})
	}
}

func TestVerifyRejectsInvalidDocument(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(f *federation, doc *schemas.Registry)
		detail string
	}{
		{"duplicate member", func(f *federation, d *schemas.Registry) {
			dup := d.Members[0]
			dup.TLSCertSHA256 = strings.Repeat("a", 64)
			dup.SigningKeys = d.Members[1].SigningKeys
			d.Members = append(d.Members, dup)
		}, "appears twice"},
		{"shared fingerprint", func(f *federation, d *schemas.Registry) {
			d.Members[1].TLSCertSHA256 = d.Members[0].TLSCertSHA256
		}, "share a TLS certificate"},
		{"shared signing key", func(f *federation, d *schemas.Registry) {
			d.Members[1].SigningKeys = d.Members[0].SigningKeys
		}, "share signing key"},
		{"upper-case fingerprint", func(f *federation, d *schemas.Registry) {
			d.Members[0].TLSCertSHA256 = strings.ToUpper(d.Members[0].TLSCertSHA256)
		}, "tls_cert_sha256"},
		{"short fingerprint", func(f *federation, d *schemas.Registry) {
			d.Members[0].TLSCertSHA256 = d.Members[0].TLSCertSHA256[:63]
		}, "tls_cert_sha256"},
		{"non-hex fingerprint", func(f *federation, d *schemas.Registry) {
			d.Members[0].TLSCertSHA256 = strings.Repeat("g", 64)
		}, "tls_cert_sha256"},
		{"bad USCC check character", func(f *federation, d *schemas.Registry) {
			d.Members[0].USCC = "91110000100000008K"
		}, "uscc"},
		{"USCC of 17 characters", func(f *federation, d *schemas.Registry) {
			d.Members[0].USCC = "91110000100000008"
		}, "uscc"},
		{"lower-case USCC", func(f *federation, d *schemas.Registry) {
			d.Members[0].USCC = "91110000100000008j"
		}, "canonical"},
		{"unknown role", func(f *federation, d *schemas.Registry) {
			d.Members[0].Roles = []string{"admin"}
		}, "unknown role"},
		{"no roles", func(f *federation, d *schemas.Registry) {
			d.Members[0].Roles = nil
		}, "no roles"},
		{"http endpoint", func(f *federation, d *schemas.Registry) {
			d.Members[0].Endpoint = "http://127.0.0.1:7443"
		}, "https"},
		{"endpoint without host", func(f *federation, d *schemas.Registry) {
			d.Members[0].Endpoint = "https://:7443"
		}, "host"},
		{"endpoint with credentials", func(f *federation, d *schemas.Registry) {
			d.Members[0].Endpoint = "https://user:pw@bank.example"
		}, "user info"},
		{"public endpoint not https", func(f *federation, d *schemas.Registry) {
			d.Members[0].PublicEndpoint = "ftp://bank.example"
		}, "public_endpoint"},
		{"bad signing keys", func(f *federation, d *schemas.Registry) {
			d.Members[0].SigningKeys = json.RawMessage(`{"keys":[]}`)
		}, "signing_keys"},
		{"encryption key is Ed25519", func(f *federation, d *schemas.Registry) {
			d.Members[0].EncryptionKey = json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`)
		}, "encryption_key"},
		{"id with upper case", func(f *federation, d *schemas.Registry) {
			d.Members[0].ID = "Bank-A"
		}, "lower-case"},
		{"id with path", func(f *federation, d *schemas.Registry) {
			d.Members[0].ID = "../bank"
		}, "lower-case"},
		{"no members", func(f *federation, d *schemas.Registry) {
			d.Members = nil
		}, "no members"},
		{"zero serial", func(f *federation, d *schemas.Registry) {
			d.Serial = 0
		}, "serial"},
		{"no federation name", func(f *federation, d *schemas.Registry) {
			d.Federation = ""
		}, "federation"},
		{"expires before issued", func(f *federation, d *schemas.Registry) {
			d.ExpiresAt = d.IssuedAt.Add(-time.Second)
		}, "expires_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFederation(t)
			doc := f.doc
			doc.Members = append([]schemas.Member(nil), f.doc.Members...)
			tc.mutate(f, &doc)
			if _, err := Sign(&doc, f.authority, f.kid); !errors.Is(err, ErrInvalid) {
				t.Errorf("Sign accepted the document: %v", err)
			}
			payload, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Verify(f.signRaw(t, payload), f.public(), t0)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("Verify error = %v, want ErrInvalid mentioning %q", err, tc.detail)
			}
		})
	}
}

func TestVerifyRejectsMalformedPayload(t *testing.T) {
	f := newFederation(t)
	good, err := json.Marshal(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(f.signRaw(t, good), f.public(), t0); err != nil {
		t.Fatalf("control: %v", err)
	}
	for name, payload := range map[string][]byte{
		"unknown field":   bytes.Replace(good, []byte(`{"federation"`), []byte(`{"extra":1,"federation"`), 1),
		"trailing data":   append(bytes.Clone(good), []byte(` {}`)...),
		"not an object":   []byte(`[1,2,3]`),
		"wrong type":      bytes.Replace(good, []byte(`"serial":1`), []byte(`"serial":"1"`), 1),
		"truncated":       good[:len(good)/2],
		"bad time format": bytes.Replace(good, []byte(`"issued_at":"2026`), []byte(`"issued_at":"26`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Verify(f.signRaw(t, payload), f.public(), t0); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSignRequiresAuthorityKID(t *testing.T) {
	f := newFederation(t)
	if _, err := Sign(&f.doc, f.authority, f.members["bank-a"].keys.SigningKID); err == nil {
		t.Error("Sign accepted a kid that is not the authority key's")
	}
}

func TestMemberFromParts(t *testing.T) {
	f := newFederation(t)
	tm := f.members["dept-tax"]
	m := tm.member
	if fp, _ := certs.FingerprintPEM(tm.certPEM); m.TLSCertSHA256 != fp {
		t.Errorf("fingerprint %s, want %s", m.TLSCertSHA256, fp)
	}
	signing, err := keys.ParseSigningJWKS(m.SigningKeys)
	if err != nil || len(signing) != 1 || !signing[tm.keys.SigningKID].Equal(tm.keys.SigningPublic()) {
		t.Errorf("signing keys = %v, %v", signing, err)
	}
	if strings.Contains(string(m.SigningKeys), "X25519") {
		t.Error("signing_keys holds the encryption key")
	}
	enc, kid, err := keys.ParseEncryptionJWK(m.EncryptionKey)
	if err != nil || kid != tm.keys.EncryptionKID || !enc.Equal(tm.keys.Encryption.PublicKey()) {
		t.Errorf("encryption key %s, %v", kid, err)
	}

	jwks, _ := json.Marshal(tm.keys.PublicJWKS())
	sigOnly, _ := json.Marshal(keys.JWKS{Keys: []keys.JWK{keys.SigningJWK(tm.keys.SigningPublic())}})
	encJWK, _ := json.Marshal(keys.EncryptionJWK(tm.keys.Encryption.PublicKey()))
	base := MemberParts{ID: "dept-tax", Organisation: "Tax", USCC: usccs[2], Roles: []string{RoleDepartment},
		Endpoint: "https://tax.example:7443", Keys: jwks, CertPEM: tm.certPEM}

	separate := base
	separate.Keys, separate.EncryptionKey = sigOnly, encJWK
	if got, err := MemberFromParts(separate); err != nil || !bytes.Equal(got.EncryptionKey, m.EncryptionKey) {
		t.Errorf("separate encryption key: %v", err)
	}
	for name, mutate := range map[string]func(p *MemberParts){
		"no encryption key": func(p *MemberParts) { p.Keys = sigOnly },
		"no certificate":    func(p *MemberParts) { p.CertPEM = nil },
		"bad USCC":          func(p *MemberParts) { p.USCC = "123" },
		"unknown role":      func(p *MemberParts) { p.Roles = []string{"root"} },
		"http endpoint":     func(p *MemberParts) { p.Endpoint = "http://tax.example" },
		"keys not JSON":     func(p *MemberParts) { p.Keys = []byte("{") },
	} {
		p := base
		mutate(&p)
		if _, err := MemberFromParts(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error = %v, want ErrInvalid", name, err)
		}
	}
}

func TestAuthorityFiles(t *testing.T) {
	dir := t.TempDir()
	priv, err := GenerateAuthority()
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveAuthority(dir, priv); err != nil {
		t.Fatal(err)
	}
	if err := SaveAuthority(dir, priv); err == nil {
		t.Error("SaveAuthority overwrote existing files")
	}
	st, err := os.Stat(filepath.Join(dir, AuthorityKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("authority.key: %v, %v", st, err)
	}
	loaded, err := keys.LoadSigningKey(filepath.Join(dir, AuthorityKeyFile))
	if err != nil || !loaded.Equal(priv) {
		t.Fatalf("LoadSigningKey: %v", err)
	}
	pub, err := LoadAuthorityPublic(filepath.Join(dir, AuthorityPublicFile))
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("LoadAuthorityPublic: %v", err)
	}
	jwk, _ := os.ReadFile(filepath.Join(dir, AuthorityPublicFile))
	if strings.Contains(string(jwk), `"d"`) {
		t.Error("authority.jwk holds the private key")
	}
	if _, err := LoadAuthorityPublic(filepath.Join(dir, AuthorityKeyFile)); err == nil {
		t.Error("LoadAuthorityPublic accepted a PEM private key")
	}
}

// FuzzVerify feeds arbitrary tokens to Verify: it must never panic, and a
// token it accepts must have been signed by the authority over a valid
// document.
func FuzzVerify(f *testing.F) {
	fed := newFederation(f)
	tok := fed.sign(f)
	f.Add(tok)
	f.Add(tok[:len(tok)-10])
	f.Add([]byte("eyJhbGciOiJub25lIn0.e30."))
	f.Add(bytes.Replace(tok, []byte("."), []byte(".."), 1))
	pub := fed.public()
	f.Fuzz(func(t *testing.T, tok []byte) {
		reg, err := Verify(tok, pub, t0)
		if err != nil {
			if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotYetValid) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		if _, _, err := jose.Verify(tok, schemas.TypRegistry, pub); err != nil {
			t.Fatalf("Verify accepted a token jose rejects: %v", err)
		}
		if len(reg.Doc().Members) == 0 {
			t.Fatal("accepted a registry without members")
		}
	})
}

// FuzzParse fuzzes the document validation behind the signature, which
// signed fuzz inputs would rarely reach.
func FuzzParse(f *testing.F) {
	fed := newFederation(f)
	good, err := json.Marshal(fed.doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"federation":"x","serial":1,"members":[{}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		reg, err := parse(payload)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		// Everything indexed must be reachable and consistent.
		for _, m := range reg.Doc().Members {
			if got, ok := reg.MemberByFingerprint(m.TLSCertSHA256); !ok || got != m.ID {
				t.Fatalf("fingerprint of %q maps to %q", m.ID, got)
			}
			if _, _, ok := reg.EncryptionKey(m.ID); !ok {
				t.Fatalf("member %q has no encryption key", m.ID)
			}
		}
	})
}
