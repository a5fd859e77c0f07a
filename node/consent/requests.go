package consent

import (
	"crypto"
	"log/slog"
	"time"

	"github.com/creditexchange/node/schemas"
)

// Revocation is a verified withdrawal of a consent, addressed to one provider.
type Revocation struct {
	Claims      schemas.RevocationClaims
	SubjectType string // certified type of the subject
	Digest      string // hex SHA-256 of the token bytes
}

// ID is the revocation's jti, which the provider must not accept twice.
func (r *Revocation) ID() string { return r.Claims.ID }

// Subject is the certified id of the subject who revoked.
func (r *Revocation) Subject() string { return r.Claims.Issuer }

// LogValue logs ids and the digest only.
func (r *Revocation) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("revocation_id", r.Claims.ID),
		slog.String("consent_id", r.Claims.ConsentID),
		slog.String("digest", r.Digest),
	)
}

// ReadRequest is a verified request by a subject to read its own inquiry log
// at one provider (token type schemas.TypSubjectRead).
type ReadRequest struct {
	Claims      schemas.SubjectReadClaims
	SubjectType string // certified type of the subject
	Digest      string // hex SHA-256 of the token bytes
}

// ID is the request's jti, which the provider must not accept twice.
func (r *ReadRequest) ID() string { return r.Claims.ID }

// Subject is the certified id of the subject whose log may be read.
func (r *ReadRequest) Subject() string { return r.Claims.Issuer }

// LogValue logs the id and the digest only.
func (r *ReadRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("read_id", r.Claims.ID), slog.String("digest", r.Digest))
}

// Revoke is run by the subject: it withdraws consent consentID at provider,
// signed with subjectKey, which must be the key subjectCert certifies.
func Revoke(subjectKey crypto.Signer, subjectCert []byte, provider, consentID string, now time.Time) ([]byte, error) {
	if !validName(provider) || !validName(consentID) {
		return nil, invalidf("bad provider or consent id")
	}
	return signAsSubject(subjectKey, subjectCert, schemas.TypRevocation, now, func(cert *SubjectCert) (any, error) {
		jti, err := newJTI()
		if err != nil {
			return nil, err
		}
		return schemas.RevocationClaims{
			ID:          jti,
			Issuer:      cert.Claims.Subject,
			Audience:    provider,
			ConsentID:   consentID,
			IssuedAt:    now.Unix(),
			SubjectCert: string(subjectCert),
		}, nil
	})
}

// SubjectRead is run by the subject: it asks provider for the first page of
// the subject's own inquiry log, signed with subjectKey, which must be the
// key subjectCert certifies.
func SubjectRead(subjectKey crypto.Signer, subjectCert []byte, provider string, now time.Time) ([]byte, error) {
	return SubjectReadPage(subjectKey, subjectCert, provider, nil, now)
}

// SubjectReadPage is SubjectRead asking for the page page of the log (nil:
// the first page of schemas.SubjectPageDefault entries).
func SubjectReadPage(subjectKey crypto.Signer, subjectCert []byte, provider string, page *schemas.SubjectPageRequest, now time.Time) ([]byte, error) {
	if !validName(provider) {
		return nil, invalidf("bad provider")
	}
	if !validPage(page) {
		return nil, invalidf("page limit outside 0..%d", schemas.SubjectPageMax)
	}
	return signAsSubject(subjectKey, subjectCert, schemas.TypSubjectRead, now, func(cert *SubjectCert) (any, error) {
		jti, err := newJTI()
		if err != nil {
			return nil, err
		}
		return schemas.SubjectReadClaims{
			ID:          jti,
			Issuer:      cert.Claims.Subject,
			Audience:    provider,
			IssuedAt:    now.Unix(),
			SubjectCert: string(subjectCert),
			Page:        page,
		}, nil
	})
}

// validPage accepts no page, or a page whose limit is 0 (the default) to
// schemas.SubjectPageMax.
func validPage(p *schemas.SubjectPageRequest) bool {
	return p == nil || (p.Limit >= 0 && p.Limit <= schemas.SubjectPageMax)
}

// requestCodes are the codes of a malformed or badly signed revocation or read request.
func requestCodes() codes {
	return codes{shape: schemas.CodeMalformedRequest, signature: schemas.CodeBadSignature}
}

// VerifyRevocation checks a revocation addressed to provider. Codes:
// malformed_request (shape, claims), bad_signature (type, key, signature),
// subject_cert_invalid, subject_mismatch (issuer is not the certified
// subject), wrong_audience (for another provider), clock_skew (iat more than
// skew from now). The caller must reject a jti it has already seen (replay)
// and check that the consent was given by Subject().
func VerifyRevocation(tok []byte, reg Registrars, provider string, now time.Time, skew time.Duration) (*Revocation, error) {
	skew = nonNegative(skew)
	cert, payload, err := verifyBySubject(tok, schemas.TypRevocation, reg, now, skew, requestCodes())
	if err != nil {
		return nil, err
	}
	var c schemas.RevocationClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "malformed revocation claims")
	}
	if !validName(c.ConsentID) {
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "malformed revocation claims")
	}
	if err := checkRequest(cert, c.ID, c.Issuer, c.Audience, c.IssuedAt, provider, now, skew); err != nil {
		return nil, err
	}
	return &Revocation{Claims: c, SubjectType: cert.Claims.SubjectType, Digest: digest(tok)}, nil
}

// VerifySubjectRead checks a subject's request to read its log at provider,
// with the same checks and codes as VerifyRevocation, and a page limit
// over schemas.SubjectPageMax (malformed_request). The provider must
// return only the entries of Subject().
func VerifySubjectRead(tok []byte, reg Registrars, provider string, now time.Time, skew time.Duration) (*ReadRequest, error) {
	skew = nonNegative(skew)
	cert, payload, err := verifyBySubject(tok, schemas.TypSubjectRead, reg, now, skew, requestCodes())
	if err != nil {
		return nil, err
	}
	var c schemas.SubjectReadClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "malformed read request claims")
	}
	if !validPage(c.Page) {
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "page limit outside 0..%d", schemas.SubjectPageMax)
	}
	if err := checkRequest(cert, c.ID, c.Issuer, c.Audience, c.IssuedAt, provider, now, skew); err != nil {
		return nil, err
	}
	return &ReadRequest{Claims: c, SubjectType: cert.Claims.SubjectType, Digest: digest(tok)}, nil
}

// checkRequest checks the envelope shared by revocations and read requests:
// a well-formed jti, the certified subject as issuer, this provider as
// audience and a fresh iat.
func checkRequest(cert *SubjectCert, jti, iss, aud string, iat int64, provider string, now time.Time, skew time.Duration) error {
	switch {
	case !validName(jti) || !validUnix(iat):
		return schemas.Errorf(schemas.CodeMalformedRequest, "malformed request claims")
	case iss != cert.Claims.Subject:
		return schemas.Errorf(schemas.CodeSubjectMismatch, "issuer is not the certified subject")
	case aud != provider:
		return schemas.Errorf(schemas.CodeWrongAudience, "token is addressed to another node")
	case inFuture(iat, now, skew) || time.Unix(iat, 0).Add(skew).Before(now):
		return schemas.Errorf(schemas.CodeClockSkew, "issued-at outside the allowed clock skew")
	}
	return nil
}
