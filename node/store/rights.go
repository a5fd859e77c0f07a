package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/creditexchange/node/node/records"
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

// The subject-rights methods. What SQLite's single writer gives is explicit
// on PostgreSQL:
//   - filing: the partial unique indexes (one open objection, one pending
//     repair per record) with ON CONFLICT DO NOTHING make the second of two
//     concurrent filings wait for the first and then see it;
//   - resolving and deciding: the row is read FOR UPDATE, so of two
//     concurrent resolutions the second sees the first's status;
//   - free reports: INSERT … ON CONFLICT DO UPDATE locks the counter row.
// Each action and its inquiry-log leaf are written in one transaction, which
// reserves the leaf's index before taking any other lock (dialect.nextIndex).

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

// filtered appends f's conditions and the order to sel.
func filtered(sel string, f RightsFilter) (string, []any) {
	var where []string
	var args []any
	if f.Subject != "" {
		args = append(args, f.Subject)
		where = append(where, "subject = ?")
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where = append(where, "status = ?")
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

// FileObjection stores a subject's objection, open, and commits c (its
// request id and its inquiry-log entry) in the same transaction. It fails
// with ErrNotFound when the subject holds no record (o.Category,
// o.RecordID) here — including when another subject does — ErrAlreadyOpen
// when an objection to it is open, and ErrReplay for a reused request id; in
// each case nothing is written.
func (s *ops) FileObjection(ctx context.Context, o Objection, c Commit) (Appended, error) {
	if err := o.validate(); err != nil {
		return Appended{}, err
	}
	return s.fileRequest(ctx, c, o.Subject, o.Category, o.RecordID, `INSERT INTO objections (id, subject, category, record_id, reason, status, filed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		o.ID, o.Subject, o.Category, o.RecordID, o.Reason, schemas.ObjectionOpen, o.FiledAt.UnixNano())
}

// FileRepair stores a repair application, pending, with c; errors as for
// FileObjection (ErrAlreadyOpen: an application for the record is pending).
func (s *ops) FileRepair(ctx context.Context, r Repair, c Commit) (Appended, error) {
	if err := r.validate(); err != nil {
		return Appended{}, err
	}
	return s.fileRequest(ctx, c, r.Subject, r.Category, r.RecordID, `INSERT INTO repairs (id, subject, category, record_id, reason, status, filed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.ID, r.Subject, r.Category, r.RecordID, r.Reason, schemas.RepairPending, r.FiledAt.UnixNano())
}

// fileRequest commits c, checks that the subject holds the record and runs
// insert (with args), in one transaction.
func (s *ops) fileRequest(ctx context.Context, c Commit, subject, category, recordID, insert string, args ...any) (Appended, error) {
	if err := validateRequestCommit(&c); err != nil {
		return Appended{}, err
	}
	var a Appended
	err := s.d.transact(ctx, "filing subject request", func(tx conn) error {
		var err error
		if a, err = s.commitTx(ctx, tx, &c); err != nil {
			return err
		}
		held, err := exists(ctx, tx, "reading records", `SELECT EXISTS (SELECT 1 FROM records WHERE subject = ? AND category = ? AND id = ?)`,
			subject, category, recordID)
		if err != nil {
			return err
		}
		if !held {
			return ErrNotFound
		}
		n, err := tx.exec(ctx, insert, args...)
		if err != nil {
			return unavailable("filing subject request", err)
		}
		// Both tables have two uniqueness rules, the id and one open request
		// per record; the id is the request id, which commitTx has just
		// shown is new, so a refused insert is the second rule.
		if n == 0 {
			return ErrAlreadyOpen
		}
		return nil
	})
	if err != nil {
		return Appended{}, err
	}
	return a, nil
}

// ResolveObjection closes the open objection r.ID with r.Status
// (schemas.ObjectionCorrected, …Removed or …Upheld) and appends the leaf
// that entry builds from the resolved objection, in one transaction.
// "corrected" requires the record to have been re-imported after the
// objection was filed (ErrNotCorrected). ErrNotFound: no such objection;
// ErrNotOpen: already resolved.
func (s *ops) ResolveObjection(ctx context.Context, r Resolution, entry func(Objection) (Leaf, error)) (Objection, Appended, error) {
	if err := validateObjectionResolution(r); err != nil {
		return Objection{}, Appended{}, err
	}
	return closeRequest(ctx, s, closing[Objection]{
		op: "resolving objection", sel: objectionSelect, read: readObjections, open: openObjection,
		check: func(tx conn, o Objection) error {
			if r.Status != schemas.ObjectionCorrected {
				return nil
			}
			return checkCorrected(tx.queryRow(ctx, `SELECT MAX(updated_at) FROM records WHERE subject = ? AND category = ? AND id = ?`,
				o.Subject, o.Category, o.RecordID), o)
		},
		update: `UPDATE objections SET status = ?, resolved_at = ?, outcome = ? WHERE id = ?`,
		set:    func(o *Objection) { o.Status, o.ResolvedAt, o.Outcome = r.Status, r.At.UTC(), r.Outcome },
	}, r, entry)
}

// DecideRepair approves or rejects (schemas.RepairApproved, …Rejected) the
// pending repair application r.ID and appends the leaf entry builds from it,
// in one transaction. ErrNotFound, ErrNotOpen as for ResolveObjection.
func (s *ops) DecideRepair(ctx context.Context, r Resolution, entry func(Repair) (Leaf, error)) (Repair, Appended, error) {
	if err := validateRepairDecision(r); err != nil {
		return Repair{}, Appended{}, err
	}
	return closeRequest(ctx, s, closing[Repair]{
		op: "deciding repair", sel: repairSelect, read: readRepairs, open: pendingRepair,
		check:  func(conn, Repair) error { return nil },
		update: `UPDATE repairs SET status = ?, decided_at = ?, outcome = ? WHERE id = ?`,
		set:    func(rp *Repair) { rp.Status, rp.DecidedAt, rp.Outcome = r.Status, r.At.UTC(), r.Outcome },
	}, r, entry)
}

// closing is how one kind of subject request (objection, repair) is closed.
type closing[T any] struct {
	op    string
	sel   string                            // objectionSelect or repairSelect
	read  func(rowIter, error) ([]T, error) // readObjections or readRepairs
	open  func([]T) (T, error)              // openObjection or pendingRepair
	check func(tx conn, v T) error          // what else must hold before closing
	// update writes the resolution; its parameters are status, time,
	// outcome and id.
	update string
	set    func(*T) // what update wrote, on the value read
}

// closeRequest closes the request r.ID as c says and appends the leaf entry
// builds from the closed request, in one transaction. It reserves the leaf's
// index before reading the request (FOR UPDATE on PostgreSQL, so of two
// concurrent closings the second sees the first's status): see
// dialect.nextIndex.
func closeRequest[T any](ctx context.Context, s *ops, c closing[T], r Resolution, entry func(T) (Leaf, error)) (T, Appended, error) {
	var v T
	var a Appended
	err := s.d.transact(ctx, c.op, func(tx conn) error {
		idx, err := s.d.nextIndex(ctx, tx, inquiryLog)
		if err != nil {
			return err
		}
		rows, err := tx.query(ctx, c.sel+` WHERE id = ?`+s.d.rowLock(" FOR UPDATE"), r.ID)
		list, err := c.read(rows, err)
		if err != nil {
			return err
		}
		if v, err = c.open(list); err != nil {
			return err
		}
		if err := c.check(tx, v); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, c.update, r.Status, r.At.UnixNano(), r.Outcome, r.ID); err != nil {
			return unavailable(c.op, err)
		}
		c.set(&v)
		a, err = appendAt(ctx, tx, idx, func() (Leaf, error) { return entry(v) })
		return err
	})
	if err != nil {
		var zero T
		return zero, Appended{}, err
	}
	return v, a, nil
}

// appendAt appends the leaf build makes to the inquiry log inside tx, at
// idx, which the transaction reserved before taking any other lock.
func appendAt(ctx context.Context, tx conn, idx uint64, build func() (Leaf, error)) (Appended, error) {
	l, err := buildLeaf(build)
	if err != nil {
		return Appended{}, err
	}
	if err := insertLeaf(ctx, tx, inquiryLog, idx, &l); err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: l.LeafHash}, nil
}

// Objections lists objections matching f, oldest first.
func (s *ops) Objections(ctx context.Context, f RightsFilter) ([]Objection, error) {
	q, args := filtered(objectionSelect, f)
	return readObjections(s.d.reader().query(ctx, q, args...))
}

// Repairs lists repair applications matching f, oldest first.
func (s *ops) Repairs(ctx context.Context, f RightsFilter) ([]Repair, error) {
	q, args := filtered(repairSelect, f)
	return readRepairs(s.d.reader().query(ctx, q, args...))
}

// CountOpenObjections counts the objections still open that were filed
// strictly before filedBefore (for the overdue count: filedBefore is now
// minus the answer deadline).
func (s *ops) CountOpenObjections(ctx context.Context, filedBefore time.Time) (int, error) {
	var n int
	if err := s.d.reader().queryRow(ctx, `SELECT COUNT(*) FROM objections WHERE status = ? AND filed_at < ?`,
		schemas.ObjectionOpen, filedBefore.UnixNano()).Scan(&n); err != nil {
		return 0, unavailable("counting objections", err)
	}
	return n, nil
}

// RecordFlags returns, for each of the subject's records that an objection
// or repair concerns, what they say about it. Records absent from the map
// have no flags.
func (s *ops) RecordFlags(ctx context.Context, subject string) (map[RecordKey]RecordFlags, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	return readRecordFlags(s.d.reader().query(ctx, `
		SELECT category, record_id, status = 'open', status = 'removed', false FROM objections
			WHERE subject = ? AND status IN ('open', 'removed')
		UNION ALL
		SELECT category, record_id, false, false, true FROM repairs WHERE subject = ? AND status = 'approved'`, subject, subject))
}

// TakeFreeReport uses one of the subject's free reports for year, at most
// limit per year, and returns how many are used now. It fails with
// ErrFreeReportsExhausted, writing nothing, once limit are used. Concurrent
// calls never use more than limit (on PostgreSQL the upsert row-locks the
// counter).
func (s *ops) TakeFreeReport(ctx context.Context, subject string, year, limit int) (int, error) {
	if err := validateFreeReport(subject, limit); err != nil {
		return 0, err
	}
	var used int
	err := s.d.writer().queryRow(ctx, `INSERT INTO free_reports (subject, year, used) VALUES (?, ?, 1)
		ON CONFLICT (subject, year) DO UPDATE SET used = free_reports.used + 1 WHERE free_reports.used < ?
		RETURNING used`, subject, year, limit).Scan(&used)
	if isNoRows(err) {
		return 0, ErrFreeReportsExhausted
	}
	if err != nil {
		return 0, unavailable("using a free report", err)
	}
	return used, nil
}

// RecordsInCategories returns every record of the listed categories, of all
// subjects, ordered by subject, category, id: the purge's candidates.
func (s *ops) RecordsInCategories(ctx context.Context, categories []string) ([]records.Record, error) {
	cats, err := sortedCategories(categories)
	if err != nil || cats == nil {
		return nil, err
	}
	cond, args := anyOf(s.d, "category", cats)
	return readFullRecords(s.d.reader().query(ctx, `SELECT subject, category, id, data, updated_at FROM records
		WHERE `+cond+` ORDER BY subject, category, id`, args...))
}

// PurgeRecords deletes the listed records and appends l, the audit entry of
// the purge, to the inquiry log in the same transaction: either both happen
// or neither. It returns how many records were deleted (records already
// gone are skipped).
func (s *ops) PurgeRecords(ctx context.Context, recs []PurgedRecord, l Leaf) (int, Appended, error) {
	var n int
	var a Appended
	err := s.d.transact(ctx, "purging records", func(tx conn) error {
		n = 0
		idx, err := s.d.nextIndex(ctx, tx, inquiryLog) // the head first: see dialect.nextIndex
		if err != nil {
			return err
		}
		for _, r := range recs {
			k, err := tx.exec(ctx, `DELETE FROM records WHERE subject = ? AND category = ? AND id = ?`, r.Subject, r.Category, r.ID)
			if err != nil {
				return unavailable("purging records", err)
			}
			n += int(k)
		}
		a, err = appendAt(ctx, tx, idx, func() (Leaf, error) { return l, nil })
		return err
	})
	if err != nil {
		return 0, Appended{}, err
	}
	return n, a, nil
}
