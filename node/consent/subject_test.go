package consent_test

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

func TestSubjectKeyFileRoundTrip(t *testing.T) {
	priv, err := consent.GenerateSubjectKey()
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := keys.MarshalSigningKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "subject.key")
	if err := keys.WritePrivateFile(path, pemBytes); err != nil {
		t.Fatal(err)
	}
	loaded, err := keys.LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(loaded) {
		t.Fatal("loaded key differs from the generated one")
	}
	other, err := consent.GenerateSubjectKey()
	if err != nil {
		t.Fatal(err)
	}
	if priv.Equal(other) {
		t.Fatal("two generated keys are equal")
	}
}

func TestIssueSubjectCert(t *testing.T) {
	f := newFixture(t)
	pubA := f.keyA.Public().(ed25519.PublicKey)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		signer      crypto.Signer
		kid         string
		subject     string
		subjectType string
		pub         ed25519.PublicKey
		validity    time.Duration
		ok          bool
	}{
		{"enterprise", f.registrarKey, kidOf(f.registrarKey), enterpriseA, schemas.SubjectEnterprise, pubA, time.Hour, true},
		{"enterprise id with spaces is normalised", f.registrarKey, kidOf(f.registrarKey), " " + enterpriseA + " ", schemas.SubjectEnterprise, pubA, time.Hour, true},
		{"person", f.registrarKey, kidOf(f.registrarKey), "person:110101199003071234", schemas.SubjectPerson, pubA, time.Hour, true},
		{"kid not the registrar thumbprint", f.registrarKey, kidOf(f.bankKey), enterpriseA, schemas.SubjectEnterprise, pubA, time.Hour, false},
		{"registrar key not Ed25519", ecKey, kidOf(f.registrarKey), enterpriseA, schemas.SubjectEnterprise, pubA, time.Hour, false},
		{"enterprise id not a USCC", f.registrarKey, kidOf(f.registrarKey), "91350100M000100Y4", schemas.SubjectEnterprise, pubA, time.Hour, false},
		{"enterprise id with a wrong check character", f.registrarKey, kidOf(f.registrarKey), "91350100M000100Y44", schemas.SubjectEnterprise, pubA, time.Hour, false},
		{"enterprise id with a wrong organisation check", f.registrarKey, kidOf(f.registrarKey), "91350100M000100Y53", schemas.SubjectEnterprise, pubA, time.Hour, false},
		{"USCC typed as person", f.registrarKey, kidOf(f.registrarKey), enterpriseA, schemas.SubjectPerson, pubA, time.Hour, false},
		{"person id without prefix", f.registrarKey, kidOf(f.registrarKey), "110101199003071234", schemas.SubjectPerson, pubA, time.Hour, false},
		{"person id empty after prefix", f.registrarKey, kidOf(f.registrarKey), "person:", schemas.SubjectPerson, pubA, time.Hour, false},
		{"unknown subject type", f.registrarKey, kidOf(f.registrarKey), enterpriseA, "robot", pubA, time.Hour, false},
		{"short subject key", f.registrarKey, kidOf(f.registrarKey), enterpriseA, schemas.SubjectEnterprise, pubA[:31], time.Hour, false},
		{"zero validity", f.registrarKey, kidOf(f.registrarKey), enterpriseA, schemas.SubjectEnterprise, pubA, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := consent.IssueSubjectCert(tt.signer, registrarID, tt.kid, tt.subject, tt.subjectType, tt.pub, tt.validity, at(0))
			if !tt.ok {
				if !errors.Is(err, consent.ErrInvalidClaims) {
					t.Fatalf("got %v, want ErrInvalidClaims", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cert, err := consent.VerifySubjectCert(tok, f.reg, at(time.Minute), skew)
			if err != nil {
				t.Fatal(err)
			}
			c := cert.Claims
			if c.Subject != strings.TrimSpace(tt.subject) || c.SubjectType != tt.subjectType || c.Issuer != registrarID ||
				!cert.Key.Equal(tt.pub) || c.IssuedAt != t0Unix || c.Expiry != t0Unix+3600 || len(c.ID) != 32 {
				t.Fatalf("unexpected claims %+v", c)
			}
		})
	}
}

func TestVerifySubjectCert(t *testing.T) {
	f := newFixture(t)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	craft := func(edit func(*schemas.SubjectCertClaims)) []byte {
		c := f.certClaims(t)
		edit(&c)
		return signJSON(t, f.registrarKey, schemas.TypSubjectCert, c)
	}
	valid := craft(func(*schemas.SubjectCertClaims) {})
	const exp = time.Hour // certClaims expire at t0 + 1 h
	tests := []struct {
		name string
		tok  []byte
		now  time.Time
		ok   bool
	}{
		{"valid", valid, at(time.Minute), true},
		{"issued by the registrar helper", f.certA, at(time.Minute), true},
		{"iat exactly skew in the future", valid, at(-skew), true},
		{"iat skew+1s in the future", valid, at(-skew - time.Second), false},
		{"exp+skew-1s", valid, at(exp + skew - time.Second), true},
		{"exactly exp+skew", valid, at(exp + skew), false},
		{"exp+skew+1s", valid, at(exp + skew + time.Second), false},
		// threats.md item 29: forged certificates.
		{"signed by a non-registrar member", signJSON(t, f.bankKey, schemas.TypSubjectCert,
			func() schemas.SubjectCertClaims { c := f.certClaims(t); c.Issuer = bankID; return c }()), at(0), false},
		{"non-registrar key claiming the registrar as issuer", signJSON(t, f.bankKey, schemas.TypSubjectCert, f.certClaims(t)), at(0), false},
		{"unknown key under the registrar's kid", signRaw(t, seededKey(9), kidOf(f.registrarKey), schemas.TypSubjectCert,
			mustJSON(t, f.certClaims(t))), at(0), false},
		{"unknown issuer", craft(func(c *schemas.SubjectCertClaims) { c.Issuer = "nobody" }), at(0), false},
		{"flipped signature bit", flipSignature(valid), at(0), false},
		{"payload swapped after signing", withPayload(valid, mustJSON(t,
			func() schemas.SubjectCertClaims { c := f.certClaims(t); c.Subject = enterpriseB; return c }())), at(0), false},
		// Type confusion: a consent (or any other kind) is never a certificate.
		{"consent token presented as a certificate", f.grantA(t), at(0), false},
		{"certificate claims under the consent typ", signJSON(t, f.registrarKey, schemas.TypConsent, f.certClaims(t)), at(0), false},
		{"cnf key is X25519", craft(func(c *schemas.SubjectCertClaims) {
			c.Confirmation.JWK = mustJSON(t, keys.EncryptionJWK(x25519.PublicKey()))
		}), at(0), false},
		{"cnf missing", craft(func(c *schemas.SubjectCertClaims) { c.Confirmation.JWK = nil }), at(0), false},
		{"cnf kid not its thumbprint", craft(func(c *schemas.SubjectCertClaims) {
			j := keys.SigningJWK(f.keyA.Public().(ed25519.PublicKey))
			j.KeyID = kidOf(f.keyB)
			c.Confirmation.JWK = mustJSON(t, j)
		}), at(0), false},
		{"exp before iat", craft(func(c *schemas.SubjectCertClaims) { c.Expiry = c.IssuedAt - 1 }), at(0), false},
		{"enterprise id not a USCC", craft(func(c *schemas.SubjectCertClaims) { c.Subject = "NOT-A-USCC" }), at(0), false},
		{"enterprise id with a wrong check character", craft(func(c *schemas.SubjectCertClaims) { c.Subject = "91350100M000100Y44" }), at(0), false},
		{"enterprise id not canonical", craft(func(c *schemas.SubjectCertClaims) { c.Subject = strings.ToLower(enterpriseA) }), at(0), false},
		{"person id without prefix", craft(func(c *schemas.SubjectCertClaims) {
			c.Subject, c.SubjectType = "110101199003071234", schemas.SubjectPerson
		}), at(0), false},
		{"unknown sub_type", craft(func(c *schemas.SubjectCertClaims) { c.SubjectType = "robot" }), at(0), false},
		{"empty jti", craft(func(c *schemas.SubjectCertClaims) { c.ID = "" }), at(0), false},
		{"unknown claim", signRaw(t, f.registrarKey, kidOf(f.registrarKey), schemas.TypSubjectCert,
			addMember(t, mustJSON(t, f.certClaims(t)), `"admin":true`)), at(0), false},
		{"duplicate sub claim", signRaw(t, f.registrarKey, kidOf(f.registrarKey), schemas.TypSubjectCert,
			addMember(t, mustJSON(t, f.certClaims(t)), `"sub":"`+enterpriseB+`"`)), at(0), false},
		{"claim name in another case", signRaw(t, f.registrarKey, kidOf(f.registrarKey), schemas.TypSubjectCert,
			bytes.Replace(mustJSON(t, f.certClaims(t)), []byte(`"sub":`), []byte(`"SUB":`), 1)), at(0), false},
		{"data after the claims", signRaw(t, f.registrarKey, kidOf(f.registrarKey), schemas.TypSubjectCert,
			append(mustJSON(t, f.certClaims(t)), []byte(" {}")...)), at(0), false},
		{"empty", nil, at(0), false},
		{"garbage", []byte("not.a.token"), at(0), false},
		{"too large", bytes.Repeat([]byte("a"), consent.MaxTokenSize+1), at(0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := consent.VerifySubjectCert(tt.tok, f.reg, tt.now, skew)
			if !tt.ok {
				wantCode(t, err, schemas.CodeSubjectCertInvalid)
				if cert != nil {
					t.Fatal("certificate returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cert.Claims.Subject != enterpriseA || !cert.Key.Equal(f.keyA.Public()) || cert.KeyID() != kidOf(f.keyA) {
				t.Fatalf("unexpected certificate %+v", cert.Claims)
			}
		})
	}
}

func TestVerifySubjectCertNilRegistry(t *testing.T) {
	f := newFixture(t)
	_, err := consent.VerifySubjectCert(f.certA, nil, at(0), skew)
	wantCode(t, err, schemas.CodeSubjectCertInvalid)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addMember appends a raw JSON member to an encoded object.
func addMember(t testing.TB, obj []byte, member string) []byte {
	t.Helper()
	if len(obj) < 2 || obj[len(obj)-1] != '}' {
		t.Fatal("not a JSON object")
	}
	return append(append(obj[:len(obj)-1:len(obj)-1], ","+member...), '}')
}
