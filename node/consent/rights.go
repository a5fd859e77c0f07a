package consent

import (
	"crypto"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/creditexchange/node/schemas"
)

// RecordRequest is a verified subject request about one of its own records
// at one provider: an objection (schemas.TypObjection) or a credit-repair
// application (schemas.TypRepair). The provider must still check that the
// record is the subject's.
type RecordRequest struct {
	Type        string // schemas.TypObjection or schemas.TypRepair
	Claims      schemas.RecordRequestClaims
	SubjectType string // certified type of the subject
	Digest      string // hex SHA-256 of the token bytes
}

// ID is the request's jti: the objection or repair id, never accepted twice.
func (r *RecordRequest) ID() string { return r.Claims.ID }

// Subject is the certified id of the subject who sent it.
func (r *RecordRequest) Subject() string { return r.Claims.Issuer }

// LogValue logs ids and the digest only: never the subject's reason.
func (r *RecordRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", r.Type),
		slog.String("id", r.Claims.ID),
		slog.String("category", r.Claims.Category),
		slog.String("record_id", r.Claims.RecordID),
		slog.String("digest", r.Digest),
	)
}

// Object is run by the subject: it objects to its record (category,
// recordID) at provider, with a reason, signed with subjectKey, which must be
// the key subjectCert certifies.
func Object(subjectKey crypto.Signer, subjectCert []byte, provider, category, recordID, reason string, now time.Time) ([]byte, error) {
	return recordRequest(schemas.TypObjection, subjectKey, subjectCert, provider, category, recordID, reason, now)
}

// ApplyRepair is run by the subject: it applies for credit repair of its
// negative record (category, recordID) at provider, stating what it did to
// correct the conduct.
func ApplyRepair(subjectKey crypto.Signer, subjectCert []byte, provider, category, recordID, reason string, now time.Time) ([]byte, error) {
	return recordRequest(schemas.TypRepair, subjectKey, subjectCert, provider, category, recordID, reason, now)
}

func recordRequest(typ string, subjectKey crypto.Signer, subjectCert []byte, provider, category, recordID, reason string, now time.Time) ([]byte, error) {
	if !validName(provider) || !validName(category) || !validRecordID(recordID) || !validReason(reason) {
		return nil, invalidf("bad provider, category, record id or reason")
	}
	return signAsSubject(subjectKey, subjectCert, typ, now, func(cert *SubjectCert) (any, error) {
		jti, err := newJTI()
		if err != nil {
			return nil, err
		}
		return schemas.RecordRequestClaims{
			ID:          jti,
			Issuer:      cert.Claims.Subject,
			Audience:    provider,
			Category:    category,
			RecordID:    recordID,
			Reason:      reason,
			IssuedAt:    now.Unix(),
			SubjectCert: string(subjectCert),
		}, nil
	})
}

// RightsStatus is run by the subject: it asks provider for the status of
// its objections and repair applications.
func RightsStatus(subjectKey crypto.Signer, subjectCert []byte, provider string, now time.Time) ([]byte, error) {
	return signReadClaims(subjectKey, subjectCert, schemas.TypRightsStatus, provider, now)
}

// ReportRequest is run by the subject: it asks provider for its own credit
// report, which spends one of the year's free reports there.
func ReportRequest(subjectKey crypto.Signer, subjectCert []byte, provider string, now time.Time) ([]byte, error) {
	return signReadClaims(subjectKey, subjectCert, schemas.TypReportRequest, provider, now)
}

// signReadClaims signs SubjectReadClaims addressed to provider as a token
// of type typ.
func signReadClaims(subjectKey crypto.Signer, subjectCert []byte, typ, provider string, now time.Time) ([]byte, error) {
	if !validName(provider) {
		return nil, invalidf("bad provider")
	}
	return signAsSubject(subjectKey, subjectCert, typ, now, func(cert *SubjectCert) (any, error) {
		jti, err := newJTI()
		if err != nil {
			return nil, err
		}
		return schemas.SubjectReadClaims{
			ID: jti, Issuer: cert.Claims.Subject, Audience: provider, IssuedAt: now.Unix(), SubjectCert: string(subjectCert),
		}, nil
	})
}

// VerifyRecordRequest checks an objection or repair application (typ is
// schemas.TypObjection or schemas.TypRepair) addressed to provider, with the
// same checks and codes as VerifyRevocation. A token of the other type fails
// with bad_signature. The caller must reject a jti it has already seen and
// check that the record belongs to Subject().
func VerifyRecordRequest(tok []byte, typ string, reg Registrars, provider string, now time.Time, skew time.Duration) (*RecordRequest, error) {
	if typ != schemas.TypObjection && typ != schemas.TypRepair {
		return nil, schemas.Errorf(schemas.CodeInternal, "not a record request type")
	}
	skew = nonNegative(skew)
	cert, payload, err := verifyBySubject(tok, typ, reg, now, skew, requestCodes())
	if err != nil {
		return nil, err
	}
	var c schemas.RecordRequestClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "malformed request claims")
	}
	if !validName(c.Category) || !validRecordID(c.RecordID) || !validReason(c.Reason) {
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "malformed category, record id or reason")
	}
	if err := checkRequest(cert, c.ID, c.Issuer, c.Audience, c.IssuedAt, provider, now, skew); err != nil {
		return nil, err
	}
	return &RecordRequest{Type: typ, Claims: c, SubjectType: cert.Claims.SubjectType, Digest: digest(tok)}, nil
}

// VerifyRightsStatus checks a subject's request for its objections and
// repairs, with the same checks and codes as VerifySubjectRead.
func VerifyRightsStatus(tok []byte, reg Registrars, provider string, now time.Time, skew time.Duration) (*ReadRequest, error) {
	return verifyReadClaims(tok, schemas.TypRightsStatus, reg, provider, now, skew)
}

// VerifyReportRequest checks a subject's request for its own credit report,
// with the same checks and codes as VerifySubjectRead. A token of another
// type (a log read) fails with bad_signature.
func VerifyReportRequest(tok []byte, reg Registrars, provider string, now time.Time, skew time.Duration) (*ReadRequest, error) {
	return verifyReadClaims(tok, schemas.TypReportRequest, reg, provider, now, skew)
}

// verifyReadClaims checks a subject-signed token of type typ carrying
// SubjectReadClaims addressed to provider.
func verifyReadClaims(tok []byte, typ string, reg Registrars, provider string, now time.Time, skew time.Duration) (*ReadRequest, error) {
	skew = nonNegative(skew)
	cert, payload, err := verifyBySubject(tok, typ, reg, now, skew, requestCodes())
	if err != nil {
		return nil, err
	}
	var c schemas.SubjectReadClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "malformed request claims")
	}
	if c.Page != nil {
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "a page is asked of a log read only")
	}
	if err := checkRequest(cert, c.ID, c.Issuer, c.Audience, c.IssuedAt, provider, now, skew); err != nil {
		return nil, err
	}
	return &ReadRequest{Claims: c, SubjectType: cert.Claims.SubjectType, Digest: digest(tok)}, nil
}

// validRecordID accepts provider record ids: 1..MaxNameLength bytes of valid
// UTF-8 without control characters (ids such as "榕市监处罚〔2021〕88号" are
// not ASCII).
func validRecordID(s string) bool {
	if s == "" || len(s) > MaxNameLength || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// validReason accepts 1..schemas.MaxReasonLength bytes of valid UTF-8 with no
// control characters other than newline and tab.
func validReason(s string) bool {
	if s == "" || len(s) > schemas.MaxReasonLength || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < ' ' && r != '\n' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
