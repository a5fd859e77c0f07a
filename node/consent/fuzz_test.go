package consent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

// FuzzVerifyConsentToken checks that no input panics, that failures carry one
// of the consent codes, and that whatever verifies is self-consistent.
func FuzzVerifyConsentToken(f *testing.F) {
	fx := newFixture(f)
	valid := fx.grantA(f)
	rev, err := consent.Revoke(fx.keyA, fx.certA, providerID, "consent-1", at(0))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{valid, flipSignature(valid), fx.certA, rev, nil, []byte("a.b.c"), []byte("..")} {
		f.Add(seed)
	}
	now := at(90 * time.Minute)
	f.Fuzz(func(t *testing.T, tok []byte) {
		c, err := consent.VerifyConsentToken(tok, fx.reg, now, skew)
		if err != nil {
			switch code := schemas.CodeOf(err); code {
			case schemas.CodeConsentInvalid, schemas.CodeSubjectCertInvalid, schemas.CodeConsentExpired, schemas.CodeConsentNotYetValid:
			default:
				t.Fatalf("unexpected code %s: %v", code, err)
			}
			if c != nil {
				t.Fatal("consent returned with an error")
			}
			return
		}
		sum := sha256.Sum256(tok)
		if c.Claims.Issuer != c.Claims.Subject || c.Digest != hex.EncodeToString(sum[:]) || c.Claims.MaxUses < 1 {
			t.Fatalf("inconsistent consent %+v", c.Claims)
		}
		cert, err := consent.VerifySubjectCert([]byte(c.Claims.SubjectCert), fx.reg, now, skew)
		if err != nil || cert.Claims.Subject != c.Claims.Subject {
			t.Fatalf("verified consent with an unverifiable certificate: %v", err)
		}
	})
}

// FuzzVerifySubjectCert checks that no input panics, that every failure is
// subject_cert_invalid, and that a verified certificate binds an Ed25519 key
// to a well-typed subject.
func FuzzVerifySubjectCert(f *testing.F) {
	fx := newFixture(f)
	for _, seed := range [][]byte{fx.certA, fx.certB, flipSignature(fx.certA), fx.grantA(f), nil, []byte("a.b.c")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		cert, err := consent.VerifySubjectCert(tok, fx.reg, at(0), skew)
		if err != nil {
			if code := schemas.CodeOf(err); code != schemas.CodeSubjectCertInvalid {
				t.Fatalf("unexpected code %s: %v", code, err)
			}
			return
		}
		if len(cert.Key) != 32 || cert.Claims.Issuer != registrarID ||
			(cert.Claims.SubjectType != schemas.SubjectEnterprise && cert.Claims.SubjectType != schemas.SubjectPerson) {
			t.Fatalf("inconsistent certificate %+v", cert.Claims)
		}
	})
}
