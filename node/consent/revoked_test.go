package consent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

// revoking is the test registry plus a registrar's revoked certificates.
type revoking struct {
	registry
	revoked map[string]string // certificate id → registrar
}

func (r revoking) SubjectCertRevoked(registrar, certID string) bool {
	return r.revoked[certID] == registrar
}

// A certificate its registrar revoked no longer verifies, and neither do
// the consents and requests signed under it; another subject's certificate
// and a revocation listed by another member are unaffected.
func TestRevokedSubjectCertRefused(t *testing.T) {
	f := newFixture(t)
	now := at(time.Minute)
	a, err := consent.VerifySubjectCert(f.certA, f.reg, now, skew)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := consent.SubjectRead(f.keyA, f.certA, providerID, now)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		reg  consent.Registrars
		fail bool
	}{
		"not revoked":                 {f.reg, false},
		"revoked by its registrar":    {revoking{f.reg, map[string]string{a.Claims.ID: a.Claims.Issuer}}, true},
		"listed by another member":    {revoking{f.reg, map[string]string{a.Claims.ID: bankID}}, false},
		"another certificate revoked": {revoking{f.reg, map[string]string{"someone-else": a.Claims.Issuer}}, false},
	} {
		_, errCert := consent.VerifySubjectCert(f.certA, c.reg, now, skew)
		_, errRead := consent.VerifySubjectRead(tok, c.reg, providerID, now, skew)
		var e *schemas.Error
		if c.fail != (errCert != nil) || c.fail != (errRead != nil) {
			t.Errorf("%s: certificate %v, read %v", name, errCert, errRead)
		}
		if c.fail && (!errors.As(errCert, &e) || e.Code != schemas.CodeSubjectCertInvalid) {
			t.Errorf("%s: code of %v", name, errCert)
		}
	}
	if _, err := consent.VerifySubjectCert(f.certB, revoking{f.reg, map[string]string{a.Claims.ID: a.Claims.Issuer}}, now, skew); err != nil {
		t.Fatalf("B's certificate after A's was revoked: %v", err)
	}
}
