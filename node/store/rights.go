package store

import (
	"errors"
	"time"
)

// Errors of the subject-rights methods.
var (
	// ErrAlreadyOpen is returned by FileObjection when an objection to the
	// same record is still open, and by FileRepair when a repair application
	// for it is still pending. Nothing is written.
	ErrAlreadyOpen = errors.New("store: an objection or repair on that record is still open")

	// ErrNotOpen is returned when resolving an objection that is no longer
	// open, or deciding a repair that is no longer pending. Nothing is
	// written.
	ErrNotOpen = errors.New("store: already resolved")

	// ErrNotCorrected is returned by ResolveObjection for the outcome
	// "corrected" when the record was not re-imported (a new version) after
	// the objection was filed. Nothing is written.
	ErrNotCorrected = errors.New("store: record not re-imported since the objection")

	// ErrFreeReportsExhausted is returned by TakeFreeReport when the subject
	// has used the year's free reports. Nothing is written.
	ErrFreeReportsExhausted = errors.New("store: free reports for the year used up")
)

// RecordKey names one record of a subject.
type RecordKey struct {
	Category string
	ID       string
}

// RecordFlags is what the subject-rights workflow says about one record.
type RecordFlags struct {
	Disputed bool // an objection is open
	Removed  bool // an objection was resolved "removed": never shared again
	Repaired bool // a repair application was approved
}

// Objection is a subject's objection to one of its records. Status is one
// of schemas.ObjectionOpen, …Corrected, …Removed, …Upheld.
type Objection struct {
	ID         string
	Subject    string
	Category   string
	RecordID   string
	Reason     string
	Status     string
	FiledAt    time.Time
	ResolvedAt time.Time // zero while open
	Outcome    string    // the operator's answer
}

// Repair is a subject's application for credit repair of a negative record.
// Status is one of schemas.RepairPending, …Approved, …Rejected.
type Repair struct {
	ID        string
	Subject   string
	Category  string
	RecordID  string
	Reason    string
	Status    string
	FiledAt   time.Time
	DecidedAt time.Time // zero while pending
	Outcome   string
}

// Resolution closes an objection (Status corrected, removed or upheld) or
// decides a repair application (Status approved or rejected).
type Resolution struct {
	ID      string
	Status  string
	Outcome string // the operator's written answer
	At      time.Time
}

// RightsFilter selects objections or repairs: by subject ("" for all) and by
// status ("" for all).
type RightsFilter struct {
	Subject string
	Status  string
}

// PurgedRecord names a record deleted by PurgeRecords.
type PurgedRecord struct {
	Subject  string
	Category string
	ID       string
}
