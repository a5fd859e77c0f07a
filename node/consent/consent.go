package consent

import (
	"crypto"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/creditexchange/node/schemas"
)

// Consent is a verified consent token.
type Consent struct {
	Claims schemas.ConsentClaims
	// SubjectType is the certified type of the subject (schemas.SubjectEnterprise
	// or SubjectPerson), from the embedded certificate.
	SubjectType string
	// Digest is the hex SHA-256 of the token bytes, the form in which the
	// consent is logged.
	Digest string
}

// LogValue logs the consent id and digest only: who consented to what is
// personal data.
func (c *Consent) LogValue() slog.Value {
	return slog.GroupValue(slog.String("consent_id", c.Claims.ID), slog.String("digest", c.Digest))
}

// Expectation is what a query needs a consent to cover.
type Expectation struct {
	Requester  string // node id of the requester
	Provider   string // node id of the provider
	Subject    string // the subject queried
	Purpose    string
	Categories []string // every one must be covered (none: nothing to cover)
}

// Grant is run by the subject: it signs a consent with subjectKey, which must
// be the key subjectCert certifies. From c it keeps Subject (filled from the
// certificate if empty; it must be the certificate's subject), Requester,
// Providers (at least one: each provider counts only the uses spent at it), Purpose, Categories, NotBefore (now if
// zero), Expiry, MaxUses and the optional data range (DataFrom, DataTo); it fills ID if empty, and sets IssuedAt to now,
// Issuer to the subject and SubjectCert to subjectCert.
//
// The consent is usable only while the certificate is valid.
func Grant(subjectKey crypto.Signer, subjectCert []byte, c schemas.ConsentClaims, now time.Time) ([]byte, error) {
	return signAsSubject(subjectKey, subjectCert, schemas.TypConsent, now, func(cert *SubjectCert) (any, error) {
		subject := cert.Claims.Subject
		if c.Subject == "" {
			c.Subject = subject
		}
		if c.Subject != subject || (c.Issuer != "" && c.Issuer != subject) {
			return nil, invalidf("subject is not the certificate's subject")
		}
		c.Issuer = subject
		if c.ID == "" {
			jti, err := newJTI()
			if err != nil {
				return nil, err
			}
			c.ID = jti
		}
		c.IssuedAt = now.Unix()
		if c.NotBefore == 0 {
			c.NotBefore = c.IssuedAt
		}
		c.SubjectCert = string(subjectCert)
		if err := validateConsent(&c); err != nil {
			return nil, invalidf("%v", err)
		}
		if expired(c.Expiry, now, 0) {
			return nil, invalidf("expiry is not in the future")
		}
		return c, nil
	})
}

// validateConsent checks the claims every consent must carry, at grant and at
// verification. The error text names the rule, never a value.
func validateConsent(c *schemas.ConsentClaims) error {
	switch {
	case !validName(c.ID):
		return errors.New("bad jti")
	case !validName(c.Subject) || c.Issuer != c.Subject:
		return errors.New("iss must be the subject")
	case !validName(c.Requester):
		return errors.New("bad requester")
	case len(c.Providers) == 0:
		// Each provider counts the uses spent at it; none can count them
		// across the federation, so a consent without named providers could
		// be spent max_uses times at every provider.
		return errors.New("providers empty: a consent names the providers it may be used at")
	case !validNames(c.Providers):
		return errors.New("bad providers")
	case !validName(c.Purpose):
		return errors.New("bad purpose")
	case len(c.Categories) == 0 || !validNames(c.Categories):
		return errors.New("categories empty or malformed")
	case !validUnix(c.IssuedAt) || !validUnix(c.NotBefore) || !validUnix(c.Expiry):
		return errors.New("iat, nbf or exp out of range")
	case c.Expiry <= c.NotBefore:
		return errors.New("exp not after nbf")
	case c.MaxUses < 1:
		return errors.New("max_uses below 1")
	}
	return validateDataRange(c.DataFrom, c.DataTo)
}

// validateDataRange accepts an absent bound, or a date in
// schemas.DateLayout; when both are given, from is not after to.
func validateDataRange(from, to string) error {
	var f, t time.Time
	var err error
	if from != "" {
		if f, err = time.Parse(schemas.DateLayout, from); err != nil {
			return errors.New("data_from is not a date")
		}
	}
	if to != "" {
		if t, err = time.Parse(schemas.DateLayout, to); err != nil {
			return errors.New("data_to is not a date")
		}
	}
	if from != "" && to != "" && f.After(t) {
		return errors.New("data_from after data_to")
	}
	return nil
}

// VerifyConsentToken checks that tok is a consent signed by the subject that
// its embedded certificate certifies, and valid at now within skew. It does
// not check what the consent covers (see Check and CheckParties), nor
// revocation or uses (the caller's store).
//
// Codes: subject_cert_invalid (the embedded certificate), consent_invalid
// (shape, type, signature, issuer), consent_not_yet_valid, consent_expired.
func VerifyConsentToken(tok []byte, reg Registrars, now time.Time, skew time.Duration) (*Consent, error) {
	skew = nonNegative(skew)
	cert, payload, err := verifyBySubject(tok, schemas.TypConsent, reg, now, skew,
		codes{shape: schemas.CodeConsentInvalid, signature: schemas.CodeConsentInvalid})
	if err != nil {
		return nil, err
	}
	var c schemas.ConsentClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, schemas.Wrap(schemas.CodeConsentInvalid, err, "malformed consent claims")
	}
	if err := validateConsent(&c); err != nil {
		return nil, schemas.Wrap(schemas.CodeConsentInvalid, err, "malformed consent claims")
	}
	if c.Subject != cert.Claims.Subject {
		return nil, schemas.Errorf(schemas.CodeConsentInvalid, "consent not given by the certified subject")
	}
	if notYetValid(c.NotBefore, now, skew) {
		return nil, schemas.Errorf(schemas.CodeConsentNotYetValid, "consent not yet valid")
	}
	if expired(c.Expiry, now, skew) {
		return nil, schemas.Errorf(schemas.CodeConsentExpired, "consent expired")
	}
	return &Consent{Claims: c, SubjectType: cert.Claims.SubjectType, Digest: digest(tok)}, nil
}

// CheckParties checks that the consent was given by want.Subject to
// want.Requester, for want.Provider if the consent names providers. Codes, in
// this order: consent_wrong_subject, consent_wrong_requester,
// consent_wrong_provider.
func (c *Consent) CheckParties(want Expectation) error {
	switch {
	case c.Claims.Subject != want.Subject:
		return schemas.Errorf(schemas.CodeConsentWrongSubject, "consent was given by another subject")
	case c.Claims.Requester != want.Requester:
		return schemas.Errorf(schemas.CodeConsentWrongRequester, "consent was granted to another requester")
	case len(c.Claims.Providers) > 0 && !slices.Contains(c.Claims.Providers, want.Provider):
		return schemas.Errorf(schemas.CodeConsentWrongProvider, "consent does not name this provider")
	}
	return nil
}

// Check is CheckParties followed by the purpose (consent_wrong_purpose) and
// that every category in want.Categories is covered (consent_wrong_category).
func (c *Consent) Check(want Expectation) error {
	if err := c.CheckParties(want); err != nil {
		return err
	}
	if c.Claims.Purpose != want.Purpose {
		return schemas.Errorf(schemas.CodeConsentWrongPurpose, "consent was granted for another purpose")
	}
	for _, cat := range want.Categories {
		if !slices.Contains(c.Claims.Categories, cat) {
			return schemas.Errorf(schemas.CodeConsentWrongCategory, "consent does not cover a requested category")
		}
	}
	return nil
}

// VerifyConsent is VerifyConsentToken followed by Check: the requester's check
// before it sends a query. A provider should instead use VerifyConsentToken
// and CheckParties, leaving purpose and categories to the policy.
func VerifyConsent(tok []byte, reg Registrars, want Expectation, now time.Time, skew time.Duration) (*Consent, error) {
	c, err := VerifyConsentToken(tok, reg, now, skew)
	if err != nil {
		return nil, err
	}
	if err := c.Check(want); err != nil {
		return nil, err
	}
	return c, nil
}
