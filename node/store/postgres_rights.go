package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// The subject-rights methods on PostgreSQL, with SQLite's semantics
// (sqlite_rights.go). What SQLite's single writer gives is made explicit:
//   - filing: the partial unique indexes (one open objection, one pending
//     repair per record) with ON CONFLICT DO NOTHING make the second of two
//     concurrent filings wait for the first and then see it;
//   - resolving and deciding: the row is read FOR UPDATE, so of two
//     concurrent resolutions the second sees the first's status;
//   - free reports: INSERT … ON CONFLICT DO UPDATE locks the counter row.
// Each action and its inquiry-log leaf are written in one transaction.

// FileObjection is [SQLite.FileObjection] on PostgreSQL.
func (s *Postgres) FileObjection(ctx context.Context, o Objection, c Commit) (Appended, error) {
	if err := o.validate(); err != nil {
		return Appended{}, err
	}
	return s.fileRequest(ctx, c, o.Subject, o.Category, o.RecordID, func(tx pgx.Tx) (int64, error) {
		tag, err := tx.Exec(ctx, `INSERT INTO objections (id, subject, category, record_id, reason, status, filed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			o.ID, o.Subject, o.Category, o.RecordID, o.Reason, schemas.ObjectionOpen, o.FiledAt.UnixNano())
		return tag.RowsAffected(), err
	})
}

// FileRepair is [SQLite.FileRepair] on PostgreSQL.
func (s *Postgres) FileRepair(ctx context.Context, r Repair, c Commit) (Appended, error) {
	if err := r.validate(); err != nil {
		return Appended{}, err
	}
	return s.fileRequest(ctx, c, r.Subject, r.Category, r.RecordID, func(tx pgx.Tx) (int64, error) {
		tag, err := tx.Exec(ctx, `INSERT INTO repairs (id, subject, category, record_id, reason, status, filed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			r.ID, r.Subject, r.Category, r.RecordID, r.Reason, schemas.RepairPending, r.FiledAt.UnixNano())
		return tag.RowsAffected(), err
	})
}

func (s *Postgres) fileRequest(ctx context.Context, c Commit, subject, category, recordID string, insert func(pgx.Tx) (int64, error)) (Appended, error) {
	if err := validateRequestCommit(&c); err != nil {
		return Appended{}, err
	}
	var a Appended
	err := s.inTx(ctx, "filing subject request", func(tx pgx.Tx) error {
		var err error
		if a, err = pgCommitTx(ctx, tx, &c); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM records WHERE subject = $1 AND category = $2 AND id = $3)`,
			subject, category, recordID).Scan(&exists); err != nil {
			return unavailable("reading records", err)
		}
		if !exists {
			return ErrNotFound
		}
		n, err := insert(tx)
		if err != nil {
			return unavailable("filing subject request", err)
		}
		// The id is the request id, which pgCommitTx has just shown is new,
		// so a refused insert is the one-open-request-per-record rule.
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

// ResolveObjection is [SQLite.ResolveObjection] on PostgreSQL.
func (s *Postgres) ResolveObjection(ctx context.Context, r Resolution, entry func(Objection) (Leaf, error)) (Objection, Appended, error) {
	if err := validateObjectionResolution(r); err != nil {
		return Objection{}, Appended{}, err
	}
	var o Objection
	var a Appended
	err := s.inTx(ctx, "resolving objection", func(tx pgx.Tx) error {
		idx, err := pgNextIndex(ctx, tx, inquiryLog) // the head first: see pgAppendAt
		if err != nil {
			return err
		}
		list, err := readObjections(tx.Query(ctx, objectionSelect+` WHERE id = $1 FOR UPDATE`, r.ID))
		if err != nil {
			return err
		}
		if o, err = openObjection(list); err != nil {
			return err
		}
		if r.Status == schemas.ObjectionCorrected {
			if err := checkCorrected(tx.QueryRow(ctx, `SELECT MAX(updated_at) FROM records WHERE subject = $1 AND category = $2 AND id = $3`,
				o.Subject, o.Category, o.RecordID), o); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE objections SET status = $1, resolved_at = $2, outcome = $3 WHERE id = $4`,
			r.Status, r.At.UnixNano(), r.Outcome, r.ID); err != nil {
			return unavailable("resolving objection", err)
		}
		o.Status, o.ResolvedAt, o.Outcome = r.Status, r.At.UTC(), r.Outcome
		a, err = pgAppendAt(ctx, tx, idx, func() (Leaf, error) { return entry(o) })
		return err
	})
	if err != nil {
		return Objection{}, Appended{}, err
	}
	return o, a, nil
}

// DecideRepair is [SQLite.DecideRepair] on PostgreSQL.
func (s *Postgres) DecideRepair(ctx context.Context, r Resolution, entry func(Repair) (Leaf, error)) (Repair, Appended, error) {
	if err := validateRepairDecision(r); err != nil {
		return Repair{}, Appended{}, err
	}
	var rp Repair
	var a Appended
	err := s.inTx(ctx, "deciding repair", func(tx pgx.Tx) error {
		idx, err := pgNextIndex(ctx, tx, inquiryLog) // the head first: see pgAppendAt
		if err != nil {
			return err
		}
		list, err := readRepairs(tx.Query(ctx, repairSelect+` WHERE id = $1 FOR UPDATE`, r.ID))
		if err != nil {
			return err
		}
		if rp, err = pendingRepair(list); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE repairs SET status = $1, decided_at = $2, outcome = $3 WHERE id = $4`,
			r.Status, r.At.UnixNano(), r.Outcome, r.ID); err != nil {
			return unavailable("deciding repair", err)
		}
		rp.Status, rp.DecidedAt, rp.Outcome = r.Status, r.At.UTC(), r.Outcome
		a, err = pgAppendAt(ctx, tx, idx, func() (Leaf, error) { return entry(rp) })
		return err
	})
	if err != nil {
		return Repair{}, Appended{}, err
	}
	return rp, a, nil
}

// pgAppendAt appends the leaf build makes to the inquiry log inside tx, at
// idx, which the transaction reserved (pgNextIndex) before taking any other
// lock. Every writer of the inquiry log takes its head first, so locks are
// always taken in one order: a resolution holding an objection's row while
// waiting for the head, against a filing holding the head while its insert
// waits for that row, would deadlock.
func pgAppendAt(ctx context.Context, tx pgx.Tx, idx uint64, build func() (Leaf, error)) (Appended, error) {
	l, err := buildLeaf(build)
	if err != nil {
		return Appended{}, err
	}
	if err := pgInsertLeaf(ctx, tx, inquiryLog, idx, &l); err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: l.LeafHash}, nil
}

// Objections lists objections matching f, oldest first.
func (s *Postgres) Objections(ctx context.Context, f RightsFilter) ([]Objection, error) {
	q, args := filtered(objectionSelect, f, pgPlaceholder)
	return readObjections(s.pool.Query(ctx, q, args...))
}

// Repairs lists repair applications matching f, oldest first.
func (s *Postgres) Repairs(ctx context.Context, f RightsFilter) ([]Repair, error) {
	q, args := filtered(repairSelect, f, pgPlaceholder)
	return readRepairs(s.pool.Query(ctx, q, args...))
}

// CountOpenObjections counts the objections still open that were filed
// strictly before filedBefore.
func (s *Postgres) CountOpenObjections(ctx context.Context, filedBefore time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM objections WHERE status = $1 AND filed_at < $2`,
		schemas.ObjectionOpen, filedBefore.UnixNano()).Scan(&n); err != nil {
		return 0, unavailable("counting objections", err)
	}
	return n, nil
}

// RecordFlags is [SQLite.RecordFlags] on PostgreSQL.
func (s *Postgres) RecordFlags(ctx context.Context, subject string) (map[RecordKey]RecordFlags, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	return readRecordFlags(s.pool.Query(ctx, `
		SELECT category, record_id, status = 'open', status = 'removed', false FROM objections
			WHERE subject = $1 AND status IN ('open', 'removed')
		UNION ALL
		SELECT category, record_id, false, false, true FROM repairs WHERE subject = $1 AND status = 'approved'`, subject))
}

// TakeFreeReport is [SQLite.TakeFreeReport] on PostgreSQL. Concurrent calls
// never use more than limit: the upsert row-locks the counter.
func (s *Postgres) TakeFreeReport(ctx context.Context, subject string, year, limit int) (int, error) {
	if err := validateFreeReport(subject, limit); err != nil {
		return 0, err
	}
	var used int
	err := s.inTx(ctx, "using a free report", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO free_reports (subject, year, used) VALUES ($1, $2, 1)
			ON CONFLICT (subject, year) DO UPDATE SET used = free_reports.used + 1 WHERE free_reports.used < $3
			RETURNING used`, subject, year, limit).Scan(&used)
		if errNoRows(err) {
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
func (s *Postgres) RecordsInCategories(ctx context.Context, categories []string) ([]records.Record, error) {
	cats, err := sortedCategories(categories)
	if err != nil || cats == nil {
		return nil, err
	}
	return readFullRecords(s.pool.Query(ctx, `SELECT subject, category, id, data, updated_at FROM records
		WHERE category = ANY($1) ORDER BY subject, category, id`, cats))
}

// PurgeRecords is [SQLite.PurgeRecords] on PostgreSQL: the deletions and the
// purge's audit leaf in one transaction, both or neither.
func (s *Postgres) PurgeRecords(ctx context.Context, recs []PurgedRecord, l Leaf) (int, Appended, error) {
	var n int
	var a Appended
	err := s.inTx(ctx, "purging records", func(tx pgx.Tx) error {
		n = 0
		idx, err := pgNextIndex(ctx, tx, inquiryLog) // the head first: see pgAppendAt
		if err != nil {
			return err
		}
		for _, r := range recs {
			tag, err := tx.Exec(ctx, `DELETE FROM records WHERE subject = $1 AND category = $2 AND id = $3`, r.Subject, r.Category, r.ID)
			if err != nil {
				return unavailable("purging records", err)
			}
			n += int(tag.RowsAffected())
		}
		a, err = pgAppendAt(ctx, tx, idx, func() (Leaf, error) { return l, nil })
		return err
	})
	if err != nil {
		return 0, Appended{}, err
	}
	return n, a, nil
}
