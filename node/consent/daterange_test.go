package consent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

// TestConsentDataRange: the optional data range is signed, verified and
// validated as dates, from not after to.
func TestConsentDataRange(t *testing.T) {
	fx := newFixture(t)
	now := at(90 * time.Minute)
	for _, tc := range []struct {
		name, from, to string
		ok             bool
	}{
		{"none", "", "", true},
		{"from only", "2024-01-01", "", true},
		{"to only", "", "2025-12-31", true},
		{"one day", "2025-02-28", "2025-02-28", true},
		{"reversed", "2025-03-01", "2025-02-28", false},
		{"not a date", "2025-02-30", "", false},
		{"short month", "2025-2-01", "", false},
		{"timestamp", "2025-02-01T00:00:00Z", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := consentClaims()
			c.DataFrom, c.DataTo = tc.from, tc.to
			tok, err := consent.Grant(fx.keyA, fx.certA, c, at(0))
			if !tc.ok {
				if !errors.Is(err, consent.ErrInvalidClaims) {
					t.Fatalf("grant: %v", err)
				}
				// A token signed around Grant's check is refused by the verifier.
				bad := mutateJSON(t, fx.grantA(t), fx.keyA, schemas.TypConsent, func(m map[string]any) {
					m["data_from"], m["data_to"] = tc.from, tc.to
				})
				if _, err := consent.VerifyConsentToken(bad, fx.reg, now, skew); schemas.CodeOf(err) != schemas.CodeConsentInvalid {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := consent.VerifyConsentToken(tok, fx.reg, now, skew)
			if err != nil {
				t.Fatal(err)
			}
			if got.Claims.DataFrom != tc.from || got.Claims.DataTo != tc.to {
				t.Fatalf("range %q..%q", got.Claims.DataFrom, got.Claims.DataTo)
			}
		})
	}
}
