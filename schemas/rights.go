package schemas

// Subject rights on records: objections (art. 25 of the Credit Reporting
// Industry Regulation: the record is flagged and the objection answered within
// 20 days) and credit repair (publication of a corrected negative record
// stops for the purposes the policy names).

// Token types of the subject-rights requests.
const (
	TypObjection    = "cx-objection+jws"     // subject → provider: objects to one of its records
	TypRepair       = "cx-repair+jws"        // subject → provider: applies for repair of a negative record
	TypRightsStatus = "cx-rights-status+jws" // subject → provider: asks for its objections and repairs
	TypRightsList   = "cx-rights-list+jws"   // provider → subject: its objections and repairs, signed
	// TypReportRequest (claims SubjectReadClaims) asks a provider for the
	// subject's own credit report; each spends one of the year's free
	// reports (art. 17).
	TypReportRequest = "cx-report-request+jws" // subject → provider: asks for its own credit report
	TypSubjectReport = "cx-subject-report+jws" // provider → subject: its records, signed
)

// Kinds of inquiry-log entry written by the subject-rights workflow and by
// the retention purge.
const (
	KindObjection         = "objection"          // a subject filed an objection
	KindObjectionResolved = "objection_resolved" // the operator resolved one
	KindRepair            = "repair"             // a subject applied for credit repair
	KindRepairDecided     = "repair_decided"     // the operator approved or rejected one
	KindRightsStatus      = "rights_status"      // a subject read its objections and repairs
	KindSubjectReport     = "subject_report"     // a subject asked for its own credit report
	KindPurge             = "retention_purge"    // expired negative records were deleted
)

// Objection statuses. An objection is open until the operator resolves it
// with one of the three outcomes.
const (
	ObjectionOpen      = "open"
	ObjectionCorrected = "corrected" // the record was re-imported with corrected data
	ObjectionRemoved   = "removed"   // the record is no longer shared
	ObjectionUpheld    = "upheld"    // the record stands as it was
)

// Repair statuses.
const (
	RepairPending  = "pending"
	RepairApproved = "approved" // the record is withheld from the purposes the policy names
	RepairRejected = "rejected"
)

// RecordRequestClaims is the payload of a subject's request about one of its
// own records at one provider: an objection (TypObjection) or a credit-repair
// application (TypRepair). The token type says which.
type RecordRequestClaims struct {
	ID          string `json:"jti"` // also the objection or repair id
	Issuer      string `json:"iss"` // the subject id
	Audience    string `json:"aud"` // provider node id
	Category    string `json:"category"`
	RecordID    string `json:"record_id"`
	Reason      string `json:"reason"` // the subject's statement, at most MaxReasonLength bytes
	IssuedAt    int64  `json:"iat"`
	SubjectCert string `json:"sub_cert"`
}

// MaxReasonLength bounds the free-text reason of an objection, repair
// application or operator resolution.
const MaxReasonLength = 2000

// ObjectionOut is one objection as the subject and the operator see it.
type ObjectionOut struct {
	ID         string `json:"id"`
	Subject    string `json:"subject"`
	Category   string `json:"category"`
	RecordID   string `json:"record_id"`
	Reason     string `json:"reason"`
	Status     string `json:"status"`
	FiledAt    string `json:"filed_at"` // RFC 3339, UTC
	DueBy      string `json:"due_by"`   // FiledAt + 20 days
	ResolvedAt string `json:"resolved_at,omitempty"`
	Outcome    string `json:"outcome,omitempty"` // the operator's written answer
	// Overdue is true while the objection is open past DueBy, as of the
	// answer's time.
	Overdue bool `json:"overdue"`
}

// RepairOut is one credit-repair application.
type RepairOut struct {
	ID        string `json:"id"`
	Subject   string `json:"subject"`
	Category  string `json:"category"`
	RecordID  string `json:"record_id"`
	Reason    string `json:"reason"`
	Status    string `json:"status"`
	FiledAt   string `json:"filed_at"`
	DecidedAt string `json:"decided_at,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
}

// SubjectRights is the payload a provider signs (TypRightsList) in answer to
// a subject's status request: that subject's objections and repairs only.
type SubjectRights struct {
	Issuer     string         `json:"iss"`
	Subject    string         `json:"sub"`
	IssuedAt   int64          `json:"iat"`
	Objections []ObjectionOut `json:"objections"`
	Repairs    []RepairOut    `json:"repairs"`
	Receipt    *Receipt       `json:"receipt,omitempty"`
}

// SubjectReport is the payload a provider signs (TypSubjectReport) in
// answer to a subject's report request: every record the provider holds on
// that subject, flagged disputed as queries show them. Records an
// objection had removed are not in it; a record whose repair was approved
// is (the subject sees its own record).
type SubjectReport struct {
	Issuer   string      `json:"iss"` // provider node id
	Subject  string      `json:"sub"`
	IssuedAt int64       `json:"iat"`
	Records  []RecordOut `json:"records"`
	Receipt  *Receipt    `json:"receipt,omitempty"` // the log entry recording this report
}

// RightsFiled is the JSON answer to a filed objection or repair application.
type RightsFiled struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	DueBy    string `json:"due_by,omitempty"` // objections only
	LogIndex uint64 `json:"log_index"`
}
