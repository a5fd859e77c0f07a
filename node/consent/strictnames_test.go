package consent_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/schematest"
)

// TestSignedObjectsRefuseAmbiguousNames takes a valid token of every
// subject-signed type, adds a duplicate member or a member name in another
// case, signs it again with the right key, and shows the real verifier
// refuses it: encoding/json alone would keep the last duplicate and match
// names case-insensitively.
func TestSignedObjectsRefuseAmbiguousNames(t *testing.T) {
	f := newFixture(t)
	must := func(tok []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	type verify func(tok []byte) error
	subjectRequest := func(v func([]byte, consent.Registrars, string, time.Time, time.Duration) error) verify {
		return func(tok []byte) error { return v(tok, f.reg, providerID, at(0), skew) }
	}
	tests := []struct {
		name   string
		tok    []byte
		signer ed25519.PrivateKey
		verify verify
		code   schemas.Code
	}{
		{"consent", f.grantA(t), f.keyA, func(tok []byte) error {
			_, err := consent.VerifyConsentToken(tok, f.reg, at(90*time.Minute), skew)
			return err
		}, schemas.CodeConsentInvalid},
		{"subject certificate", f.certA, f.registrarKey, func(tok []byte) error {
			_, err := consent.VerifySubjectCert(tok, f.reg, at(0), skew)
			return err
		}, schemas.CodeSubjectCertInvalid},
		{"revocation", must(consent.Revoke(f.keyA, f.certA, providerID, "consent-1", at(0))), f.keyA,
			subjectRequest(func(tok []byte, r consent.Registrars, p string, now time.Time, s time.Duration) error {
				_, err := consent.VerifyRevocation(tok, r, p, now, s)
				return err
			}), schemas.CodeMalformedRequest},
		{"subject read", must(consent.SubjectRead(f.keyA, f.certA, providerID, at(0))), f.keyA,
			subjectRequest(func(tok []byte, r consent.Registrars, p string, now time.Time, s time.Duration) error {
				_, err := consent.VerifySubjectRead(tok, r, p, now, s)
				return err
			}), schemas.CodeMalformedRequest},
		{"objection", must(consent.Object(f.keyA, f.certA, providerID, "tax_payment", "r1", "wrong", at(0))), f.keyA,
			subjectRequest(func(tok []byte, r consent.Registrars, p string, now time.Time, s time.Duration) error {
				_, err := consent.VerifyRecordRequest(tok, schemas.TypObjection, r, p, now, s)
				return err
			}), schemas.CodeMalformedRequest},
		{"repair", must(consent.ApplyRepair(f.keyA, f.certA, providerID, "tax_payment", "r1", "wrong", at(0))), f.keyA,
			subjectRequest(func(tok []byte, r consent.Registrars, p string, now time.Time, s time.Duration) error {
				_, err := consent.VerifyRecordRequest(tok, schemas.TypRepair, r, p, now, s)
				return err
			}), schemas.CodeMalformedRequest},
		{"rights status", must(consent.RightsStatus(f.keyA, f.certA, providerID, at(0))), f.keyA,
			subjectRequest(func(tok []byte, r consent.Registrars, p string, now time.Time, s time.Duration) error {
				_, err := consent.VerifyRightsStatus(tok, r, p, now, s)
				return err
			}), schemas.CodeMalformedRequest},
		{"report request", must(consent.ReportRequest(f.keyA, f.certA, providerID, at(0))), f.keyA,
			subjectRequest(func(tok []byte, r consent.Registrars, p string, now time.Time, s time.Duration) error {
				_, err := consent.VerifyReportRequest(tok, r, p, now, s)
				return err
			}), schemas.CodeMalformedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.verify(tt.tok); err != nil {
				t.Fatalf("the valid token is refused: %v", err)
			}
			for _, v := range schematest.NameVariants(t, tt.tok, tt.signer) {
				t.Run(v.Name, func(t *testing.T) { wantCode(t, tt.verify(v.Token), tt.code) })
			}
		})
	}
}
