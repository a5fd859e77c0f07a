package store

import (
	"errors"
	"strings"
	"time"

	"github.com/creditexchange/node/schemas"
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

// The subject-rights logic both backends share: argument checks, the row
// scans and the checks on what a transaction read. Each backend keeps its SQL
// text, its locking and its transaction.

func (o *Objection) validate() error {
	if o.ID == "" || o.Subject == "" || o.Category == "" || o.RecordID == "" || o.FiledAt.IsZero() {
		return invalid("objection with an empty field")
	}
	return nil
}

func (r *Repair) validate() error {
	if r.ID == "" || r.Subject == "" || r.Category == "" || r.RecordID == "" || r.FiledAt.IsZero() {
		return invalid("repair with an empty field")
	}
	return nil
}

// validateRequestCommit checks the Commit filed with a subject request.
func validateRequestCommit(c *Commit) error {
	if err := c.validate(); err != nil {
		return err
	}
	if c.ConsentID != "" {
		return invalid("a subject request consumes no consent")
	}
	return nil
}

// validateObjectionResolution checks a resolution for ResolveObjection.
func validateObjectionResolution(r Resolution) error {
	switch r.Status {
	case schemas.ObjectionCorrected, schemas.ObjectionRemoved, schemas.ObjectionUpheld:
	default:
		return invalid("objection outcome %q", r.Status)
	}
	if r.ID == "" || r.At.IsZero() {
		return invalid("resolution without id or time")
	}
	return nil
}

// validateRepairDecision checks a decision for DecideRepair.
func validateRepairDecision(r Resolution) error {
	if r.Status != schemas.RepairApproved && r.Status != schemas.RepairRejected {
		return invalid("repair decision %q", r.Status)
	}
	if r.ID == "" || r.At.IsZero() {
		return invalid("decision without id or time")
	}
	return nil
}

// validateFreeReport checks TakeFreeReport's arguments.
func validateFreeReport(subject string, limit int) error {
	if subject == "" {
		return invalid("empty subject")
	}
	if limit < 1 {
		return ErrFreeReportsExhausted
	}
	return nil
}

// openObjection is the one objection a lookup by id found, if it is still
// open: ErrNotFound for none, ErrNotOpen if resolved.
func openObjection(list []Objection) (Objection, error) {
	if len(list) == 0 {
		return Objection{}, ErrNotFound
	}
	if list[0].Status != schemas.ObjectionOpen {
		return Objection{}, ErrNotOpen
	}
	return list[0], nil
}

// pendingRepair is openObjection for repair applications.
func pendingRepair(list []Repair) (Repair, error) {
	if len(list) == 0 {
		return Repair{}, ErrNotFound
	}
	if list[0].Status != schemas.RepairPending {
		return Repair{}, ErrNotOpen
	}
	return list[0], nil
}

// checkCorrected reads row, the MAX(updated_at) of the objection's record,
// and fails with ErrNotCorrected unless the record was re-imported after o
// was filed.
func checkCorrected(row rowScanner, o Objection) error {
	var updated *int64
	if err := row.Scan(&updated); err != nil {
		return unavailable("reading records", err)
	}
	if updated == nil || *updated <= o.FiledAt.UnixNano() {
		return ErrNotCorrected
	}
	return nil
}

// buildLeaf makes and checks the leaf a rights action appends.
func buildLeaf(build func() (Leaf, error)) (Leaf, error) {
	l, err := build()
	if err != nil {
		return Leaf{}, err
	}
	if err := l.validate(); err != nil {
		return Leaf{}, err
	}
	return l, nil
}

// Both backends select objections and repairs with the same columns.
const objectionSelect = `SELECT id, subject, category, record_id, reason, status, filed_at, resolved_at, outcome FROM objections`
const repairSelect = `SELECT id, subject, category, record_id, reason, status, filed_at, decided_at, outcome FROM repairs`

// filtered appends f's conditions and the order to sel, writing the bound
// parameters with placeholder.
func filtered(sel string, f RightsFilter, placeholder func(int) string) (string, []any) {
	var where []string
	var args []any
	if f.Subject != "" {
		args = append(args, f.Subject)
		where = append(where, "subject = "+placeholder(len(args)))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where = append(where, "status = "+placeholder(len(args)))
	}
	if len(where) > 0 {
		sel += " WHERE " + strings.Join(where, " AND ")
	}
	return sel + " ORDER BY filed_at, id", args
}

// scanObjection reads one row of objectionSelect.
func scanObjection(row rowScanner) (Objection, error) {
	var o Objection
	var filed int64
	var resolved *int64
	if err := row.Scan(&o.ID, &o.Subject, &o.Category, &o.RecordID, &o.Reason, &o.Status, &filed, &resolved, &o.Outcome); err != nil {
		return Objection{}, err
	}
	o.FiledAt, o.ResolvedAt = unixTime(filed), nullUnixTime(resolved)
	return o, nil
}

// scanRepair reads one row of repairSelect.
func scanRepair(row rowScanner) (Repair, error) {
	var r Repair
	var filed int64
	var decided *int64
	if err := row.Scan(&r.ID, &r.Subject, &r.Category, &r.RecordID, &r.Reason, &r.Status, &filed, &decided, &r.Outcome); err != nil {
		return Repair{}, err
	}
	r.FiledAt, r.DecidedAt = unixTime(filed), nullUnixTime(decided)
	return r, nil
}

func readObjections(rows rowIter, err error) ([]Objection, error) {
	return collect(rows, err, "reading objections", scanObjection)
}

func readRepairs(rows rowIter, err error) ([]Repair, error) {
	return collect(rows, err, "reading repairs", scanRepair)
}

// flagRow is one row of a RecordFlags query: a record and what one
// objection or repair says about it.
type flagRow struct {
	key                         RecordKey
	disputed, removed, repaired bool
}

func scanFlagRow(row rowScanner) (flagRow, error) {
	var f flagRow
	err := row.Scan(&f.key.Category, &f.key.ID, &f.disputed, &f.removed, &f.repaired)
	return f, err
}

// readRecordFlags merges the rows of a RecordFlags query per record.
func readRecordFlags(rows rowIter, err error) (map[RecordKey]RecordFlags, error) {
	out := map[RecordKey]RecordFlags{}
	if err := eachRow(rows, err, "reading record flags", scanFlagRow, func(r flagRow) error {
		f := out[r.key]
		f.Disputed = f.Disputed || r.disputed
		f.Removed = f.Removed || r.removed
		f.Repaired = f.Repaired || r.repaired
		out[r.key] = f
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}
