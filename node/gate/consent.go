package gate

import (
	"context"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

// ConsentStore is what the consent check needs of the store: the subject's
// revocations and the uses already made of a consent.
type ConsentStore interface {
	Revoked(ctx context.Context, subject, consentID string) (bool, error)
	ConsentUses(ctx context.Context, subject, consentID string) (int, error)
}

// CheckConsent verifies a consent token for a member's request: signed by
// its subject under a registrar's certificate and in force now
// (consent_invalid, consent_expired, …), naming want's requester,
// provider, subject, purpose and categories (consent_invalid), not revoked
// by its subject (consent_revoked) and with uses left (consent_exhausted).
// Revocations count only for the consent's own subject, checked to be the
// subject of the request.
//
// The consent is returned once its token verified, even with a later
// refusal, so that the denial's log entry can name it; usesLeft is the
// number of uses left before this request.
func CheckConsent(ctx context.Context, st ConsentStore, reg consent.Registrars, tok string, want consent.Expectation,
	now time.Time, skew time.Duration) (cons *consent.Consent, usesLeft int, _ *schemas.Error) {
	cons, err := consent.VerifyConsentToken([]byte(tok), reg, now, skew)
	if err != nil {
		return nil, 0, schemas.AsError(err, schemas.CodeConsentInvalid, "rejected")
	}
	if err := cons.CheckParties(want); err != nil {
		return cons, 0, schemas.AsError(err, schemas.CodeConsentInvalid, "rejected")
	}
	revoked, err := st.Revoked(ctx, cons.Claims.Subject, cons.Claims.ID)
	if err != nil {
		return cons, 0, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	if revoked {
		return cons, 0, schemas.Errorf(schemas.CodeConsentRevoked, "the subject revoked this consent")
	}
	used, err := st.ConsentUses(ctx, cons.Claims.Subject, cons.Claims.ID)
	if err != nil {
		return cons, 0, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	if used >= cons.Claims.MaxUses {
		return cons, 0, schemas.Errorf(schemas.CodeConsentExhausted, "consent has no uses left")
	}
	return cons, cons.Claims.MaxUses - used, nil
}
