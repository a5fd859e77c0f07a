package schemas

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable wire error code. Codes never change meaning once published:
// clients branch on them, subjects read them in their inquiry logs, and tests
// pin them. Every code is defined here, once, with its HTTP status.
type Code string

// The wire error codes. Grouped by the check that produces them, in the order
// the provider runs its checks.
const (
	// Transport and framing.
	CodeMalformedRequest Code = "malformed_request" // body is not a well-formed token or JSON
	CodeBodyTooLarge     Code = "body_too_large"    // body over the size limit
	CodeNotFound         Code = "not_found"         // no such endpoint or object
	CodeMethodNotAllowed Code = "method_not_allowed"

	// Who is asking.
	CodeUnknownMember       Code = "unknown_member"       // TLS peer or kid not in the registry
	CodeBadSignature        Code = "bad_signature"        // signature, algorithm or header rejected
	CodeIdentityMismatch    Code = "identity_mismatch"    // signed issuer is not the TLS peer
	CodeWrongAudience       Code = "wrong_audience"       // token addressed to another node
	CodeClockSkew           Code = "clock_skew"           // issued-at outside the skew window
	CodeReplay              Code = "replay"               // request id seen before
	CodeSubjectCertInvalid  Code = "subject_cert_invalid" // subject certificate not from a registrar, expired or forged
	CodeSubjectMismatch     Code = "subject_mismatch"     // a subject asked about another subject
	CodeRegistryUnavailable Code = "registry_unavailable" // no valid registry loaded

	// The subject's authorisation.
	CodeConsentMissing        Code = "consent_missing"         // authorisation required but none given
	CodeConsentInvalid        Code = "consent_invalid"         // not a valid subject-signed consent token
	CodeConsentExpired        Code = "consent_expired"         // past its expiry
	CodeConsentNotYetValid    Code = "consent_not_yet_valid"   // before its not-before
	CodeConsentRevoked        Code = "consent_revoked"         // the subject revoked it
	CodeConsentUnknown        Code = "consent_unknown"         // revoking a consent id the provider has seen used only by other subjects
	CodeConsentExhausted      Code = "consent_exhausted"       // no uses left
	CodeConsentWrongSubject   Code = "consent_wrong_subject"   // given by another subject
	CodeConsentWrongRequester Code = "consent_wrong_requester" // granted to another requester
	CodeConsentWrongProvider  Code = "consent_wrong_provider"  // does not name this provider
	CodeConsentWrongPurpose   Code = "consent_wrong_purpose"   // granted for another purpose
	CodeConsentWrongCategory  Code = "consent_wrong_category"  // does not cover a requested category

	// Subject rights.
	CodeFreeReportsExhausted Code = "free_reports_exhausted" // the year's free self reports are used up
	CodeAlreadyOpen          Code = "already_open"           // an objection or repair on that record is still open
	CodeRecordNotNegative    Code = "record_not_negative"    // credit repair asked for a record that is not negative

	// Policy.
	CodePurposeUnknown      Code = "purpose_unknown"       // not in the closed list of purposes
	CodePurposeNotPermitted Code = "purpose_not_permitted" // requester's roles may not use this purpose
	CodeCategoryUnknown     Code = "category_unknown"      // provider has no such category
	CodeLevelNotPermitted   Code = "level_not_permitted"   // category's sharing level not reachable for this purpose
	CodeApprovalMissing     Code = "approval_missing"      // restricted category without special approval
	CodeJurisdiction        Code = "jurisdiction_not_permitted"
	CodePolicyDenied        Code = "policy_denied"      // denied by policy (reason codes say why)
	CodePolicyUnavailable   Code = "policy_unavailable" // policy could not be evaluated: fail closed

	// Special approvals for restricted categories (schemas.ApprovalClaims).
	CodeApprovalInvalid        Code = "approval_invalid"         // not a well-formed approval token, or bad signature
	CodeApprovalNotRegulator   Code = "approval_not_regulator"   // signed by a member without the regulator role
	CodeApprovalExpired        Code = "approval_expired"         // past its expiry
	CodeApprovalNotYetValid    Code = "approval_not_yet_valid"   // issued in the future
	CodeApprovalWrongSubject   Code = "approval_wrong_subject"   // names another subject
	CodeApprovalWrongRequester Code = "approval_wrong_requester" // names another requester
	CodeApprovalWrongPurpose   Code = "approval_wrong_purpose"   // granted for another purpose
	CodeApprovalWrongCategory  Code = "approval_wrong_category"  // does not cover a requested restricted category

	// Fair use (limits per purpose in the policy data).
	CodeConsentValidityExceeded Code = "consent_validity_exceeded" // consent valid for longer than the purpose allows
	CodeConsentUsesExceeded     Code = "consent_uses_exceeded"     // consent allows more uses than the purpose allows
	CodeQueryLimitExceeded      Code = "query_limit_exceeded"      // too many queries about this subject in the period
	CodeRateLimited             Code = "rate_limited"              // too many requests from this client address on the public API

	// The node's own dependencies: fail closed.
	CodeLogUnavailable   Code = "log_unavailable"   // the inquiry log could not be appended
	CodeStoreUnavailable Code = "store_unavailable" // the database failed
	CodeKeysUnavailable  Code = "keys_unavailable"  // signing or decryption key unavailable
	CodeInternal         Code = "internal"

	// Tamper-evident log proofs.
	CodeBadLogRange Code = "bad_log_range" // no proof for that index or pair of sizes

	// Requester side: what the peer did.
	CodePeerUnavailable Code = "peer_unavailable"  // could not reach the provider
	CodePeerBadResponse Code = "peer_bad_response" // the provider's answer failed verification

	// Joint modelling jobs (node/joint/remote).
	CodeJobUnknown            Code = "job_unknown"             // no such joint modelling job for this guest
	CodeJobCancelled          Code = "job_cancelled"           // the job was cancelled: no further steps
	CodeJobState              Code = "job_state"               // the step is not allowed in the job's state (finished, failed, out of order)
	CodePrivacyBudgetExceeded Code = "privacy_budget_exceeded" // an aggregate statistic would exceed the requester's ε budget
	CodeQuerySetRefused       Code = "query_set_refused"       // an aggregate's query set is too small or differs too little from an earlier one

	// The internal API for the organisation's own systems (node/internalapi).
	CodeClientUnknown         Code = "client_unknown"          // the TLS client certificate is not a registered internal client
	CodeClientRevoked         Code = "client_revoked"          // the internal client was revoked by the operator
	CodeClientNotPermitted    Code = "client_not_permitted"    // operation, purpose or provider outside the client's allow-list
	CodeStaffIDMissing        Code = "staff_id_missing"        // the call does not name the staff member it is made for
	CodeBusinessRefMissing    Code = "business_ref_missing"    // the call does not name its business reference (e.g. loan application)
	CodeIdempotencyKeyMissing Code = "idempotency_key_missing" // a POST that changes state or spends a consent use has no Idempotency-Key
	CodeIdempotencyConflict   Code = "idempotency_conflict"    // the Idempotency-Key was used before with another body or operation
)

// codeStatus maps each code to its HTTP status. A code missing from this map is
// a programming error caught by TestEveryCodeHasStatus.
var codeStatus = map[Code]int{
	CodeMalformedRequest: http.StatusBadRequest,
	CodeBodyTooLarge:     http.StatusRequestEntityTooLarge,
	CodeNotFound:         http.StatusNotFound,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,

	CodeUnknownMember:       http.StatusForbidden,
	CodeBadSignature:        http.StatusUnauthorized,
	CodeIdentityMismatch:    http.StatusForbidden,
	CodeWrongAudience:       http.StatusForbidden,
	CodeClockSkew:           http.StatusUnauthorized,
	CodeReplay:              http.StatusConflict,
	CodeSubjectCertInvalid:  http.StatusForbidden,
	CodeSubjectMismatch:     http.StatusForbidden,
	CodeRegistryUnavailable: http.StatusServiceUnavailable,

	CodeConsentMissing:        http.StatusForbidden,
	CodeConsentInvalid:        http.StatusForbidden,
	CodeConsentExpired:        http.StatusForbidden,
	CodeConsentNotYetValid:    http.StatusForbidden,
	CodeConsentRevoked:        http.StatusForbidden,
	CodeConsentUnknown:        http.StatusNotFound,
	CodeConsentExhausted:      http.StatusForbidden,
	CodeConsentWrongSubject:   http.StatusForbidden,
	CodeConsentWrongRequester: http.StatusForbidden,
	CodeConsentWrongProvider:  http.StatusForbidden,
	CodeConsentWrongPurpose:   http.StatusForbidden,
	CodeConsentWrongCategory:  http.StatusForbidden,

	CodeFreeReportsExhausted: http.StatusTooManyRequests,
	CodeAlreadyOpen:          http.StatusConflict,
	CodeRecordNotNegative:    http.StatusBadRequest,

	CodePurposeUnknown:      http.StatusBadRequest,
	CodePurposeNotPermitted: http.StatusForbidden,
	CodeCategoryUnknown:     http.StatusBadRequest,
	CodeLevelNotPermitted:   http.StatusForbidden,
	CodeApprovalMissing:     http.StatusForbidden,
	CodeJurisdiction:        http.StatusForbidden,
	CodePolicyDenied:        http.StatusForbidden,
	CodePolicyUnavailable:   http.StatusServiceUnavailable,

	CodeApprovalInvalid:        http.StatusForbidden,
	CodeApprovalNotRegulator:   http.StatusForbidden,
	CodeApprovalExpired:        http.StatusForbidden,
	CodeApprovalNotYetValid:    http.StatusForbidden,
	CodeApprovalWrongSubject:   http.StatusForbidden,
	CodeApprovalWrongRequester: http.StatusForbidden,
	CodeApprovalWrongPurpose:   http.StatusForbidden,
	CodeApprovalWrongCategory:  http.StatusForbidden,

	CodeConsentValidityExceeded: http.StatusForbidden,
	CodeConsentUsesExceeded:     http.StatusForbidden,
	CodeQueryLimitExceeded:      http.StatusTooManyRequests,
	CodeRateLimited:             http.StatusTooManyRequests,

	CodeLogUnavailable:   http.StatusServiceUnavailable,
	CodeStoreUnavailable: http.StatusServiceUnavailable,
	CodeKeysUnavailable:  http.StatusServiceUnavailable,
	CodeInternal:         http.StatusInternalServerError,
	CodeBadLogRange:      http.StatusBadRequest,

	CodePeerUnavailable: http.StatusBadGateway,
	CodePeerBadResponse: http.StatusBadGateway,

	CodeJobUnknown:            http.StatusNotFound,
	CodeJobCancelled:          http.StatusConflict,
	CodeJobState:              http.StatusConflict,
	CodePrivacyBudgetExceeded: http.StatusTooManyRequests,
	CodeQuerySetRefused:       http.StatusForbidden,

	CodeClientUnknown:         http.StatusUnauthorized,
	CodeClientRevoked:         http.StatusForbidden,
	CodeClientNotPermitted:    http.StatusForbidden,
	CodeStaffIDMissing:        http.StatusBadRequest,
	CodeBusinessRefMissing:    http.StatusBadRequest,
	CodeIdempotencyKeyMissing: http.StatusBadRequest,
	CodeIdempotencyConflict:   http.StatusConflict,
}

// Codes returns every defined code.
func Codes() []Code {
	out := make([]Code, 0, len(codeStatus))
	for c := range codeStatus {
		out = append(out, c)
	}
	return out
}

// Status is the HTTP status for the code; unknown codes are 500.
func (c Code) Status() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Known reports whether c is a defined code.
func (c Code) Known() bool { _, ok := codeStatus[c]; return ok }

// Error is an error carrying a wire code. The message is safe to send to the
// peer: it never holds key material, consent contents or records. Err, if set,
// is the internal cause, logged but never sent.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error with a formatted, peer-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap makes an *Error with a peer-safe message and an internal cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// CodeOf returns the wire code of err: the code of the first *Error in its
// chain, or CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns the first *Error in err's chain, or wraps err with the
// fallback code and a peer-safe message.
func AsError(err error, fallback Code, message string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(fallback, err, message)
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error object inside ErrorBody.
type ErrorDetail struct {
	Code      Code   `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
	// LogIndex is the provider's inquiry-log index of the entry recording this
	// denial; present whenever the failure was logged.
	LogIndex *uint64 `json:"log_index,omitempty"`
}
