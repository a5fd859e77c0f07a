package schemas

// A consent status request asks a provider how much of a consent is left
// there: a requester (a bank's loan system, through its node) validating an
// SME's consent at intake learns the uses spent and whether the subject
// revoked it, which only each provider can tell (uses are counted per
// provider). The request is signed by the requester (TypConsentStatus) and
// carries the consent token; the provider checks the token names the
// requester and itself, logs the request in the subject's inquiry log
// (KindConsentStatus), and answers signed (TypConsentStatusAnswer).
const (
	TypConsentStatus       = "cx-consent-status+jws"        // requester → provider
	TypConsentStatusAnswer = "cx-consent-status-answer+jws" // provider → requester
	KindConsentStatus      = "consent_status"               // inquiry-log entry of a consent status request
)

// Consent states in a ConsentStatusAnswer.
const (
	ConsentUsable    = "usable"
	ConsentExhausted = "exhausted"
	ConsentRevoked   = "revoked"
)

// ConsentStatusClaims is the payload of a consent status request.
type ConsentStatusClaims struct {
	ID       string `json:"jti"`
	IssuedAt int64  `json:"iat"`
	Issuer   string `json:"iss"` // requester node id
	Audience string `json:"aud"` // provider node id
	Subject  string `json:"sub"` // the subject who granted the consent
	Consent  string `json:"consent"`
}

// ConsentStatusAnswer is the provider's answer.
type ConsentStatusAnswer struct {
	RequestID string `json:"request_id"`
	Issuer    string `json:"iss"` // provider node id
	Audience  string `json:"aud"` // requester node id
	IssuedAt  int64  `json:"iat"`
	ConsentID string `json:"consent_id"`
	Subject   string `json:"sub"`
	State     string `json:"state"` // ConsentUsable, ConsentExhausted or ConsentRevoked
	Uses      int    `json:"uses"`  // spent at this provider
	MaxUses   int    `json:"max_uses"`
	UsesLeft  int    `json:"uses_left"`
	// Receipt names the inquiry-log entry of this request.
	Receipt Receipt `json:"receipt"`
}
