package schemas

// Discovery: a member asks a provider which of its catalogue categories it
// could query for a purpose, and with which authorisation. The request is
// signed by the requester (TypDiscover) and names no subject; the answer is
// signed by the provider (TypDiscovery) and is itself a policy decision per
// category, logged in the provider's inquiry log (KindDiscovery).
const (
	TypDiscover   = "cx-discover+jws"  // requester → provider: which categories for this purpose?
	TypDiscovery  = "cx-discovery+jws" // provider → requester: the answer, per category
	KindDiscovery = "discovery"        // inquiry-log entry of a discovery request
)

// What a requester would need to be allowed a category (DiscoveredCategory.Needs).
const (
	NeedsNothing            = ""                 // allowed as asked
	NeedsConsent            = "consent"          // the subject's consent covering it
	NeedsApproval           = "approval"         // a regulator's special approval covering it
	NeedsConsentAndApproval = "consent+approval" // both (a restricted category about a person)
)

// DiscoverClaims is the payload of a discovery request (TypDiscover).
type DiscoverClaims struct {
	ID       string `json:"jti"` // unique request id
	IssuedAt int64  `json:"iat"`
	Issuer   string `json:"iss"` // requester node id
	Audience string `json:"aud"` // provider node id
	Purpose  string `json:"purpose"`
	// SubjectType is the kind of subject the requester has in mind
	// (SubjectEnterprise if empty): a person's data always needs consent.
	SubjectType string `json:"sub_type,omitempty"`
}

// DiscoveryAnswer is the payload of the provider's answer (TypDiscovery).
type DiscoveryAnswer struct {
	RequestID      string               `json:"request_id"`
	Issuer         string               `json:"iss"` // provider node id
	Audience       string               `json:"aud"` // requester node id
	IssuedAt       int64                `json:"iat"`
	Purpose        string               `json:"purpose"`
	SubjectType    string               `json:"sub_type"`
	PolicyRevision string               `json:"policy_revision"`
	Categories     []DiscoveredCategory `json:"categories"` // sorted by name
	// Receipt names the inquiry-log entry of this request; RecordsDigest
	// is the hex SHA-256 of the JSON of Categories.
	Receipt Receipt `json:"receipt"`
}

// DiscoveredCategory is the policy's answer for one category of the
// provider's catalogue.
type DiscoveredCategory struct {
	Name  string `json:"name"`
	Level string `json:"level"`
	// Available: the policy would allow a query of this category for the
	// purpose, given what Needs names. When false, Code and Reasons say
	// why, even with every authorisation the level can call for.
	Available  bool     `json:"available"`
	Needs      string   `json:"needs,omitempty"`
	Code       Code     `json:"code,omitempty"`
	Reasons    []string `json:"reasons"`
	Fields     []string `json:"fields,omitempty"` // what would leave, when available
	DecisionID string   `json:"decision_id"`
}
