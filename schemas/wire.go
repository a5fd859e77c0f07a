// Package schemas defines what crosses the wire between nodes and subjects:
// the claims inside every signed token, the response payloads, the inquiry-log
// entry, the federation registry document, and the stable error codes. JSON
// Schemas for record categories live in schemas/categories. openapi.yaml is
// the OpenAPI 3.1 contract of every HTTP route of a node (openapi.go).
//
// Every token is a compact JWS (alg EdDSA) whose protected header carries a
// "typ" naming its kind; a token of one kind is never accepted as another.
package schemas

import (
	"encoding/json"
	"time"
)

// Token types, carried in the JWS "typ" header. Distinct types stop a token
// minted for one use being replayed as another (threats.md item 10).
const (
	TypQuery         = "cx-query+jws"        // requester → provider: a credit query
	TypResponse      = "cx-response+jws"     // provider → requester: records and receipt
	TypConsent       = "cx-consent+jws"      // subject → requester: an authorisation
	TypSubjectCert   = "cx-subject-cert+jws" // registrar → subject: binds an id to a key
	TypRevocation    = "cx-revocation+jws"   // subject → provider: withdraws a consent
	TypSubjectRead   = "cx-subject-read+jws" // subject → provider: asks for its inquiry log
	TypSubjectLog    = "cx-subject-log+jws"  // provider → subject: the subject's entries
	TypRegistry      = "cx-registry+jws"     // authority → everyone: the federation registry
	TypApproval      = "cx-approval+jws"     // regulator → requester: special approval for restricted categories
	ContentTypeJOSE  = "application/jose"    // HTTP body holding a compact JWS or JWE
	ContentTypeJSON  = "application/json"    // HTTP body holding JSON
	ContentTypeError = "application/problem+json"
)

// Subject types. Natural persons always need authorisation.
const (
	SubjectEnterprise = "enterprise" // identified by a USCC
	SubjectPerson     = "person"     // a natural person
)

// Decisions as written in the inquiry log.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// Kinds of inquiry-log entry.
const (
	KindQuery       = "query"        // a credit query (allowed or denied)
	KindSubjectRead = "subject_read" // a subject read its own log
	KindRevocation  = "revocation"   // a subject revoked a consent
)

// QueryClaims is the payload of a signed query (TypQuery).
type QueryClaims struct {
	ID          string   `json:"jti"`      // unique request id
	IssuedAt    int64    `json:"iat"`      // unix seconds
	Issuer      string   `json:"iss"`      // requester node id
	Audience    string   `json:"aud"`      // provider node id
	Subject     string   `json:"sub"`      // USCC or person id
	SubjectType string   `json:"sub_type"` // SubjectEnterprise or SubjectPerson
	Purpose     string   `json:"purpose"`
	Categories  []string `json:"categories"`
	Consent     string   `json:"consent,omitempty"`  // compact consent JWS, if any
	Approval    string   `json:"approval,omitempty"` // compact special approval JWS (TypApproval), if any
	// Ref, if set, is an opaque digest (64 lower-case hex digits) of the
	// requester's business reference, such as a loan application number:
	// the provider logs it so the requester's internal audit can tie its
	// entry to the application; it never carries the reference or the staff
	// member who asked.
	Ref string `json:"ref,omitempty"`
}

// ConsentClaims is the payload of a subject's authorisation (TypConsent),
// signed with the subject's key, which SubjectCert binds to the subject id.
type ConsentClaims struct {
	ID          string   `json:"jti"`
	Issuer      string   `json:"iss"` // the subject id (same as Subject)
	Subject     string   `json:"sub"`
	Requester   string   `json:"requester"`           // node id allowed to use it
	Providers   []string `json:"providers,omitempty"` // empty: any provider
	Purpose     string   `json:"purpose"`
	Categories  []string `json:"categories"`
	IssuedAt    int64    `json:"iat"`
	NotBefore   int64    `json:"nbf"`
	Expiry      int64    `json:"exp"`
	MaxUses     int      `json:"max_uses"`
	SubjectCert string   `json:"sub_cert"` // compact TypSubjectCert JWS
	// DataFrom and DataTo (dates, DateLayout, inclusive, optional) bound
	// the dates of the records the consent lets out (see
	// node/server/daterange.go for the date of a record per category).
	DataFrom string `json:"data_from,omitempty"`
	DataTo   string `json:"data_to,omitempty"`
}

// DateLayout is the layout of calendar dates on the wire (ISO 8601).
const DateLayout = "2006-01-02"

// SubjectCertClaims is a registrar's certificate (TypSubjectCert) binding a
// subject id to the subject's Ed25519 public key (RFC 7800 "cnf").
type SubjectCertClaims struct {
	ID           string       `json:"jti"`
	Issuer       string       `json:"iss"` // registrar node id
	Subject      string       `json:"sub"`
	SubjectType  string       `json:"sub_type"`
	IssuedAt     int64        `json:"iat"`
	Expiry       int64        `json:"exp"`
	Confirmation Confirmation `json:"cnf"`
}

// Confirmation holds the subject's public key as a JWK.
type Confirmation struct {
	JWK json.RawMessage `json:"jwk"`
}

// RevocationClaims is a subject's withdrawal of a consent (TypRevocation).
type RevocationClaims struct {
	ID          string `json:"jti"`
	Issuer      string `json:"iss"` // the subject id
	Audience    string `json:"aud"` // provider node id
	ConsentID   string `json:"consent_id"`
	IssuedAt    int64  `json:"iat"`
	SubjectCert string `json:"sub_cert"`
}

// SubjectReadClaims is a subject's request for its own inquiry log (TypSubjectRead).
// The same claims ask for the subject's objections and repairs
// (TypRightsStatus) and for its credit report (TypReportRequest), which
// carry no Page.
type SubjectReadClaims struct {
	ID          string `json:"jti"`
	Issuer      string `json:"iss"` // the subject id
	Audience    string `json:"aud"` // provider node id
	IssuedAt    int64  `json:"iat"`
	SubjectCert string `json:"sub_cert"`
	// Page, on a log read only, says which page of the log to answer; none
	// is the first page of SubjectPageDefault entries.
	Page *SubjectPageRequest `json:"page,omitempty"`
}

// Page sizes of a subject's log read. With its proofs an entry takes about
// 2.3 KB of the signed answer, so a page of SubjectPageMax entries stays
// near 3 MB, well under the 8 MiB token limit (crypto/jose.MaxTokenSize).
const (
	SubjectPageDefault = 1000
	SubjectPageMax     = 1000
)

// SubjectPageRequest names one page of a subject's inquiry log. A subject
// reads its log as a walk: the first page from index 0, each following
// page From the previous answer's SubjectLogPage.Next, pinned to the
// checkpoint the first page was proven against and bounded by the first
// page's Until, until an answer has no Next. The subject checks the pages
// together (node/subjectcheck).
type SubjectPageRequest struct {
	// From is the smallest log index the page may hold (0: the walk's
	// first page).
	From uint64 `json:"from,omitempty"`
	// Limit is the most entries the page may hold, 1 to SubjectPageMax
	// (0: SubjectPageDefault).
	Limit int `json:"limit,omitempty"`
	// Checkpoint, if not zero, is the size of the subject checkpoint the
	// page must be proven against: the checkpoint of the walk's first page
	// (SubjectLogPage.Checkpoint). A provider that no longer keeps it
	// answers bad_log_range, and the subject starts the walk again.
	Checkpoint uint64 `json:"checkpoint,omitempty"`
	// Until, if not zero, bounds the walk: the page holds entries below
	// this index only. A walk's following pages name the first page's
	// SubjectLogPage.Until, so that the entries logging the walk's own
	// page requests do not extend it.
	Until uint64 `json:"until,omitempty"`
}

// SubjectLogPage says which page of the subject's entries a SubjectLog
// holds: those with index From or above and below Until, at most the
// request's limit, in index order.
type SubjectLogPage struct {
	// From repeats the request's From.
	From uint64 `json:"from"`
	// Until is the walk's bound: the request's Until, or on a walk's first
	// page one past the index of the entry logging that page's request.
	Until uint64 `json:"until"`
	// Next is the From of the following page: the subject has entries at
	// Next or above, below Until, that this page does not hold. Zero on the
	// last page.
	Next uint64 `json:"next,omitempty"`
	// Checkpoint is the size of the subject checkpoint the page is proven
	// against (that of Proof), which the following pages must name in
	// their request; zero without a proof.
	Checkpoint uint64 `json:"checkpoint,omitempty"`
}

// Decision is what the policy decided, as it travels in responses and logs.
type Decision struct {
	ID             string              `json:"id"`
	PolicyRevision string              `json:"policy_revision"`
	Allow          bool                `json:"allow"`
	Reasons        []string            `json:"reasons"`
	Obligations    map[string]any      `json:"obligations,omitempty"`
	Fields         map[string][]string `json:"fields,omitempty"` // per category: gjson paths that may leave
}

// RecordOut is one record as it leaves the provider: already projected to the
// fields the decision allows.
type RecordOut struct {
	Category string          `json:"category"`
	ID       string          `json:"id"`
	Data     json.RawMessage `json:"data"`
	// Disputed is true while the subject's objection to the record is open
	// (schemas.ObjectionOpen). It sits beside the data, never inside it.
	Disputed bool `json:"disputed,omitempty"`
}

// Receipt is the provider's proof that the inquiry was logged before data left.
type Receipt struct {
	Provider      string `json:"provider"`
	LogIndex      uint64 `json:"log_index"`
	LeafHash      string `json:"leaf_hash"`      // hex RFC 6962 leaf hash of the entry
	RecordsDigest string `json:"records_digest"` // hex SHA-256 of the canonical Records array
}

// QueryResponse is the payload the provider signs (TypResponse) and then
// encrypts to the requester.
type QueryResponse struct {
	RequestID string      `json:"request_id"`
	Issuer    string      `json:"iss"` // provider node id
	Audience  string      `json:"aud"` // requester node id
	IssuedAt  int64       `json:"iat"`
	Subject   string      `json:"sub"`
	Purpose   string      `json:"purpose"`
	Decision  Decision    `json:"decision"`
	Records   []RecordOut `json:"records"`
	Receipt   Receipt     `json:"receipt"`
}

// InquiryEntry is one entry of a provider's inquiry log. Its canonical bytes
// (encoding/json of this struct: fixed field order, no maps) plus a random
// salt form the Merkle leaf. It holds ids and digests, never record contents.
type InquiryEntry struct {
	Time           string   `json:"time"` // RFC 3339, UTC, nanoseconds
	Kind           string   `json:"kind"`
	RequestID      string   `json:"request_id,omitempty"`
	Requester      string   `json:"requester,omitempty"`
	RequesterOrg   string   `json:"requester_org,omitempty"`
	Subject        string   `json:"subject,omitempty"`
	Purpose        string   `json:"purpose,omitempty"`
	Categories     []string `json:"categories,omitempty"`
	Decision       string   `json:"decision"`
	Code           Code     `json:"code,omitempty"` // the wire code when denied
	Reasons        []string `json:"reasons,omitempty"`
	ConsentID      string   `json:"consent_id,omitempty"`
	ApprovalCase   string   `json:"approval_case,omitempty"` // the special approval's case id, if any
	DecisionID     string   `json:"decision_id,omitempty"`
	PolicyRevision string   `json:"policy_revision,omitempty"`
	RecordsDigest  string   `json:"records_digest,omitempty"` // hex SHA-256 of what was sent
	RequestDigest  string   `json:"request_digest,omitempty"` // hex SHA-256 of the request token
	// BusinessRefDigest is the query's Ref claim: the requester's opaque
	// digest of its business reference.
	BusinessRefDigest string `json:"business_ref_digest,omitempty"`

	// Obligations is the decision's obligations as canonical JSON (object
	// keys sorted, as encoding/json writes a map), so the entry stays free
	// of maps and its bytes are reproducible.
	Obligations json.RawMessage `json:"obligations,omitempty"`

	// Subject rights and retention (KindObjection…KindPurge): the record id
	// concerned, the outcome (a status such as "removed"), and for a purge
	// the number of records deleted (RecordsDigest then digests their ids).
	Record  string `json:"record,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Count   int    `json:"count,omitempty"`
}

// OutboundEntry is one entry of a requester's outbound log: what it asked,
// and what the provider answered, with the provider's receipt. Two entries
// are written per query: Stage "sent" before the request leaves, and
// "receipt" (or "failed") when the answer is in, so both sides can reconcile.
type OutboundEntry struct {
	Time             string   `json:"time"`
	Kind             string   `json:"kind,omitempty"` // KindConsentStatus for a consent status request; empty for a query
	Stage            string   `json:"stage"`          // OutboundSent, OutboundReceipt, OutboundFailed
	RequestID        string   `json:"request_id"`
	Provider         string   `json:"provider"`
	Subject          string   `json:"subject,omitempty"`
	Purpose          string   `json:"purpose,omitempty"`
	Categories       []string `json:"categories,omitempty"`
	ConsentID        string   `json:"consent_id,omitempty"`
	Decision         string   `json:"decision,omitempty"`
	Code             Code     `json:"code,omitempty"`
	ProviderLogIndex *uint64  `json:"provider_log_index,omitempty"`
	ProviderLeafHash string   `json:"provider_leaf_hash,omitempty"`
	RecordsDigest    string   `json:"records_digest,omitempty"`
	RequestDigest    string   `json:"request_digest,omitempty"`

	// Made through the internal API: the calling system, the staff member
	// the call was made for and the business reference (e.g. the loan
	// application number) it names, and the digest of that reference sent
	// to the provider. The outbound log is the organisation's own: these
	// never leave the node in clear.
	Client            string `json:"client,omitempty"`
	StaffID           string `json:"staff_id,omitempty"`
	BusinessRef       string `json:"business_ref,omitempty"`
	BusinessRefDigest string `json:"business_ref_digest,omitempty"`
}

// Outbound stages.
const (
	OutboundSent    = "sent"
	OutboundReceipt = "receipt"
	OutboundFailed  = "failed"
)

// LoggedEntry is an inquiry entry with its position in the log.
type LoggedEntry struct {
	Index    uint64       `json:"index"`
	LeafHash string       `json:"leaf_hash"`
	Salt     string       `json:"salt"` // hex; lets the subject recompute the leaf
	Entry    InquiryEntry `json:"entry"`
}

// SubjectLog is the payload a provider signs (TypSubjectLog) in answer to a
// subject's read: that subject's entries only, one page of them (Page).
type SubjectLog struct {
	Issuer   string        `json:"iss"` // provider node id
	Subject  string        `json:"sub"`
	IssuedAt int64         `json:"iat"`
	Entries  []LoggedEntry `json:"entries"`
	Receipt  *Receipt      `json:"receipt,omitempty"` // the log entry recording this read
	// Proof, when the provider publishes subject commitments, lets the
	// subject check that the entries of all the pages of a walk are all of
	// its entries (node/subjectlog). It carries the inclusion proofs of
	// this page's entries and, on every page alike, the checkpoint and the
	// map proof of the subject's whole chain.
	Proof *SubjectProof `json:"proof,omitempty"`
	// Page says which page of the subject's entries Entries are; a log put
	// together from a walk's pages (node/subjectcheck) has none.
	Page *SubjectLogPage `json:"page,omitempty"`
}

// Registry is the federation registry document, signed by the federation
// authority (TypRegistry).
type Registry struct {
	Federation string    `json:"federation"`
	Serial     int64     `json:"serial"`
	IssuedAt   time.Time `json:"issued_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Members    []Member  `json:"members"`
}

// Member is one node of the federation.
type Member struct {
	ID             string          `json:"id"`
	Organisation   string          `json:"organisation"`
	USCC           string          `json:"uscc"`
	Roles          []string        `json:"roles"`
	Jurisdiction   string          `json:"jurisdiction"`
	Endpoint       string          `json:"endpoint"`        // mutual-TLS API base URL
	PublicEndpoint string          `json:"public_endpoint"` // server-TLS URL for subjects
	SigningKeys    json.RawMessage `json:"signing_keys"`    // JWKS of Ed25519 public keys
	EncryptionKey  json.RawMessage `json:"encryption_key"`  // X25519 public JWK
	TLSCertSHA256  string          `json:"tls_cert_sha256"` // hex SHA-256 of the leaf certificate DER
	// RevokedSubjectCerts, on a registrar only, are the ids (jti) of the
	// subject certificates it has revoked (a subject's lost or compromised
	// key): every check of a subject certificate refuses them.
	RevokedSubjectCerts []string `json:"revoked_subject_certs,omitempty"`
}

// HasRole reports whether the member holds role.
func (m *Member) HasRole(role string) bool {
	for _, r := range m.Roles {
		if r == role {
			return true
		}
	}
	return false
}
