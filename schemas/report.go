package schemas

// TypReport is the JWS "typ" of a verifiable credit report: a node assembles
// the signed answers of several providers about one subject and signs the
// whole (node/reports).
const TypReport = "cx-report+jws"

// ReportClaims is the payload the assembling node signs (TypReport). Each part
// carries a provider's own signed response unchanged, so a verifier holding
// the federation registry checks every provider's signature as well as the
// assembler's, offline.
type ReportClaims struct {
	ID          string `json:"jti"`
	Issuer      string `json:"iss"` // assembling node id: the requester of every part
	Subject     string `json:"sub"`
	SubjectType string `json:"sub_type"`
	Purpose     string `json:"purpose"`
	IssuedAt    int64  `json:"iat"`
	NotBefore   int64  `json:"nbf"`
	Expiry      int64  `json:"exp"` // the report stands in for paper proofs until then
	// Coverage is what the report vouches for: per provider, the categories
	// that provider was asked and answered, sorted by provider.
	Coverage []ReportCoverage `json:"coverage"`
	// Summary counts records per category across the parts, and flags
	// negative-information categories (schema keyword "x-negative"): a report
	// whose summary holds no negative records is a "proof of no violations"
	// for the categories and providers covered, as of the parts' dates.
	Summary []ReportCount `json:"summary"`
	Parts   []ReportPart  `json:"parts"`
}

// ReportCoverage names one provider's categories in a report.
type ReportCoverage struct {
	Provider   string   `json:"provider"`
	Categories []string `json:"categories"`
}

// ReportCount is the number of records of one category in a report.
type ReportCount struct {
	Category string `json:"category"`
	Negative bool   `json:"negative"`
	Records  int    `json:"records"`
}

// ReportPart is one provider's answer: its compact JWS of type TypResponse,
// exactly as it came out of the JWE addressed to the assembler.
type ReportPart struct {
	Provider string `json:"provider"`
	Response string `json:"response"`
}
