package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// FileObjection stores a subject's objection, open, and commits c (its
// request id and its inquiry-log entry) in the same transaction. It fails
// with ErrNotFound when the subject holds no record (o.Category,
// o.RecordID) here — including when another subject does — ErrAlreadyOpen
// when an objection to it is open, and ErrReplay for a reused request id; in
// each case nothing is written.
func (s *SQLite) FileObjection(ctx context.Context, o Objection, c Commit) (Appended, error) {
	if err := o.validate(); err != nil {
		return Appended{}, err
	}
	return s.fileRequest(ctx, c, o.Subject, o.Category, o.RecordID, func(tx *sql.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `INSERT INTO objections (id, subject, category, record_id, reason, status, filed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			o.ID, o.Subject, o.Category, o.RecordID, o.Reason, schemas.ObjectionOpen, o.FiledAt.UnixNano())
	})
}

// FileRepair stores a repair application, pending, with c; errors as for
// FileObjection (ErrAlreadyOpen: an application for the record is pending).
func (s *SQLite) FileRepair(ctx context.Context, r Repair, c Commit) (Appended, error) {
	if err := r.validate(); err != nil {
		return Appended{}, err
	}
	return s.fileRequest(ctx, c, r.Subject, r.Category, r.RecordID, func(tx *sql.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `INSERT INTO repairs (id, subject, category, record_id, reason, status, filed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			r.ID, r.Subject, r.Category, r.RecordID, r.Reason, schemas.RepairPending, r.FiledAt.UnixNano())
	})
}

func (s *SQLite) fileRequest(ctx context.Context, c Commit, subject, category, recordID string, insert func(*sql.Tx) (sql.Result, error)) (Appended, error) {
	if err := validateRequestCommit(&c); err != nil {
		return Appended{}, err
	}
	var a Appended
	err := s.inWriteTx(ctx, "filing subject request", func(tx *sql.Tx) error {
		var err error
		if a, err = commitTx(ctx, tx, &c); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM records WHERE subject = ? AND category = ? AND id = ?)`,
			subject, category, recordID).Scan(&exists); err != nil {
			return unavailable("reading records", err)
		}
		if !exists {
			return ErrNotFound
		}
		res, err := insert(tx)
		if err != nil {
			return unavailable("filing subject request", err)
		}
		// Both tables have two uniqueness rules, the id and one open request
		// per record; the id is the request id, which commitTx has just
		// shown is new, so a refused insert is the second rule.
		if n, err := res.RowsAffected(); err != nil {
			return unavailable("filing subject request", err)
		} else if n == 0 {
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
func (s *SQLite) ResolveObjection(ctx context.Context, r Resolution, entry func(Objection) (Leaf, error)) (Objection, Appended, error) {
	if err := validateObjectionResolution(r); err != nil {
		return Objection{}, Appended{}, err
	}
	var o Objection
	var a Appended
	err := s.inWriteTx(ctx, "resolving objection", func(tx *sql.Tx) error {
		list, err := readObjections(sqlRows(tx.QueryContext(ctx, objectionSelect+` WHERE id = ?`, r.ID)))
		if err != nil {
			return err
		}
		if o, err = openObjection(list); err != nil {
			return err
		}
		if r.Status == schemas.ObjectionCorrected {
			if err := checkCorrected(tx.QueryRowContext(ctx, `SELECT MAX(updated_at) FROM records WHERE subject = ? AND category = ? AND id = ?`,
				o.Subject, o.Category, o.RecordID), o); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE objections SET status = ?, resolved_at = ?, outcome = ? WHERE id = ?`,
			r.Status, r.At.UnixNano(), r.Outcome, r.ID); err != nil {
			return unavailable("resolving objection", err)
		}
		o.Status, o.ResolvedAt, o.Outcome = r.Status, r.At.UTC(), r.Outcome
		a, err = appendInTx(ctx, tx, func() (Leaf, error) { return entry(o) })
		return err
	})
	if err != nil {
		return Objection{}, Appended{}, err
	}
	return o, a, nil
}

// DecideRepair approves or rejects (schemas.RepairApproved, …Rejected) the
// pending repair application r.ID and appends the leaf entry builds from it,
// in one transaction. ErrNotFound, ErrNotOpen as for ResolveObjection.
func (s *SQLite) DecideRepair(ctx context.Context, r Resolution, entry func(Repair) (Leaf, error)) (Repair, Appended, error) {
	if err := validateRepairDecision(r); err != nil {
		return Repair{}, Appended{}, err
	}
	var rp Repair
	var a Appended
	err := s.inWriteTx(ctx, "deciding repair", func(tx *sql.Tx) error {
		list, err := readRepairs(sqlRows(tx.QueryContext(ctx, repairSelect+` WHERE id = ?`, r.ID)))
		if err != nil {
			return err
		}
		if rp, err = pendingRepair(list); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE repairs SET status = ?, decided_at = ?, outcome = ? WHERE id = ?`,
			r.Status, r.At.UnixNano(), r.Outcome, r.ID); err != nil {
			return unavailable("deciding repair", err)
		}
		rp.Status, rp.DecidedAt, rp.Outcome = r.Status, r.At.UTC(), r.Outcome
		a, err = appendInTx(ctx, tx, func() (Leaf, error) { return entry(rp) })
		return err
	})
	if err != nil {
		return Repair{}, Appended{}, err
	}
	return rp, a, nil
}

// appendInTx appends the leaf build makes to the inquiry log inside tx.
func appendInTx(ctx context.Context, tx *sql.Tx, build func() (Leaf, error)) (Appended, error) {
	l, err := buildLeaf(build)
	if err != nil {
		return Appended{}, err
	}
	idx, err := nextIndex(ctx, tx, inquiryLog)
	if err != nil {
		return Appended{}, err
	}
	if err := insertLeaf(ctx, tx, inquiryLog, idx, &l); err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: l.LeafHash}, nil
}

// Objections lists objections matching f, oldest first.
func (s *SQLite) Objections(ctx context.Context, f RightsFilter) ([]Objection, error) {
	q, args := filtered(objectionSelect, f, sqlitePlaceholder)
	return readObjections(sqlRows(s.r.QueryContext(ctx, q, args...)))
}

// Repairs lists repair applications matching f, oldest first.
func (s *SQLite) Repairs(ctx context.Context, f RightsFilter) ([]Repair, error) {
	q, args := filtered(repairSelect, f, sqlitePlaceholder)
	return readRepairs(sqlRows(s.r.QueryContext(ctx, q, args...)))
}

// CountOpenObjections counts the objections still open that were filed
// strictly before filedBefore (for the overdue count: filedBefore is now
// minus the answer deadline).
func (s *SQLite) CountOpenObjections(ctx context.Context, filedBefore time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM objections WHERE status = ? AND filed_at < ?`,
		schemas.ObjectionOpen, filedBefore.UnixNano()).Scan(&n); err != nil {
		return 0, unavailable("counting objections", err)
	}
	return n, nil
}

// RecordFlags returns, for each of the subject's records that an objection
// or repair concerns, what they say about it. Records absent from the map
// have no flags.
func (s *SQLite) RecordFlags(ctx context.Context, subject string) (map[RecordKey]RecordFlags, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	return readRecordFlags(sqlRows(s.r.QueryContext(ctx, `
		SELECT category, record_id, status = 'open', status = 'removed', 0 FROM objections
			WHERE subject = ? AND status IN ('open', 'removed')
		UNION ALL
		SELECT category, record_id, 0, 0, 1 FROM repairs WHERE subject = ? AND status = 'approved'`, subject, subject)))
}

// TakeFreeReport uses one of the subject's free reports for year, at most
// limit per year, and returns how many are used now. It fails with
// ErrFreeReportsExhausted, writing nothing, once limit are used. Concurrent
// calls never use more than limit.
func (s *SQLite) TakeFreeReport(ctx context.Context, subject string, year, limit int) (int, error) {
	if err := validateFreeReport(subject, limit); err != nil {
		return 0, err
	}
	var used int
	err := s.inWriteTx(ctx, "using a free report", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO free_reports (subject, year, used) VALUES (?, ?, 1)
			ON CONFLICT (subject, year) DO UPDATE SET used = free_reports.used + 1 WHERE free_reports.used < ?
			RETURNING used`, subject, year, limit).Scan(&used)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrFreeReportsExhausted
		}
		if err != nil {
			return unavailable("using a free report", err)
		}
		return nil
	})
	return used, err
}

// RecordsInCategories returns every record of the listed categories, of all
// subjects, ordered by subject, category, id: the purge's candidates.
func (s *SQLite) RecordsInCategories(ctx context.Context, categories []string) ([]records.Record, error) {
	cats, err := sortedCategories(categories)
	if err != nil || cats == nil {
		return nil, err
	}
	args := make([]any, len(cats))
	for i, c := range cats {
		args[i] = c
	}
	return readFullRecords(sqlRows(s.r.QueryContext(ctx, `SELECT subject, category, id, data, updated_at FROM records
		WHERE category IN (?`+strings.Repeat(", ?", len(cats)-1)+`) ORDER BY subject, category, id`, args...)))
}

// PurgeRecords deletes the listed records and appends l, the audit entry of
// the purge, to the inquiry log in the same transaction: either both happen
// or neither. It returns how many records were deleted (records already
// gone are skipped).
func (s *SQLite) PurgeRecords(ctx context.Context, recs []PurgedRecord, l Leaf) (int, Appended, error) {
	var n int
	var a Appended
	err := s.inWriteTx(ctx, "purging records", func(tx *sql.Tx) error {
		for _, r := range recs {
			res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE subject = ? AND category = ? AND id = ?`, r.Subject, r.Category, r.ID)
			if err != nil {
				return unavailable("purging records", err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return unavailable("purging records", err)
			}
			n += int(k)
		}
		var err error
		a, err = appendInTx(ctx, tx, func() (Leaf, error) { return l, nil })
		return err
	})
	if err != nil {
		return 0, Appended{}, err
	}
	return n, a, nil
}
