package store

import (
	"context"
	"database/sql"
)

// CommitInquiry records an answered query in one transaction: it marks
// (c.Requester, c.RequestID) as used, consumes one use of c.ConsentID (if
// set) and appends c.Leaf to the inquiry log. It fails with ErrReplay if the
// request id was used before, ErrConsentExhausted if the consent has no uses
// left, and ErrConsentRevoked if its subject (c.Leaf.Subject) revoked it; in
// each case nothing is written. Of several concurrent commits of the same
// request id exactly one succeeds. The leaf is durable when CommitInquiry
// returns.
func (s *SQLite) CommitInquiry(ctx context.Context, c Commit) (Appended, error) {
	if err := c.validate(); err != nil {
		return Appended{}, err
	}
	var a Appended
	err := s.inWriteTx(ctx, "committing inquiry", func(tx *sql.Tx) error {
		var err error
		a, err = commitTx(ctx, tx, &c)
		return err
	})
	if err != nil {
		return Appended{}, err
	}
	return a, nil
}

// CommitBatch commits several Commits in one transaction, for a group-commit
// sequencer: one fsync for the whole batch. Each commit is checked and applied
// as if committed alone, in slice order, so a replayed or exhausted commit
// fails on its own (its BatchResult.Err) without spoiling the others, and a
// request id repeated within the batch succeeds once. A database failure
// fails the whole batch: the error wraps ErrUnavailable and nothing is
// written. Results are durable when CommitBatch returns.
func (s *SQLite) CommitBatch(ctx context.Context, cs []Commit) ([]BatchResult, error) {
	res, valid := validateCommits(cs)
	if valid == 0 {
		return res, nil
	}
	err := s.inWriteTx(ctx, "committing inquiry batch", func(tx *sql.Tx) error {
		for i := range cs {
			if res[i].Err != nil {
				continue
			}
			a, err := commitSavepoint(ctx, tx, &cs[i])
			if err := settle(&res[i], a, err); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// commitSavepoint runs commitTx inside a savepoint, so that a refused commit
// leaves the enclosing batch transaction as it was.
func commitSavepoint(ctx context.Context, tx *sql.Tx, c *Commit) (Appended, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT commit_one`); err != nil {
		return Appended{}, unavailable("committing inquiry", err)
	}
	a, err := commitTx(ctx, tx, c)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO commit_one`); rerr != nil {
			return Appended{}, unavailable("committing inquiry", rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, `RELEASE commit_one`); rerr != nil {
		return Appended{}, unavailable("committing inquiry", rerr)
	}
	return a, err
}

// commitTx applies one Commit inside tx. On ErrReplay, ErrConsentExhausted or
// ErrConsentRevoked it may already have written part of the commit: the
// caller must roll back (the transaction or a savepoint).
func commitTx(ctx context.Context, tx *sql.Tx, c *Commit) (Appended, error) {
	idx, err := nextIndex(ctx, tx, inquiryLog)
	if err != nil {
		return Appended{}, err
	}
	// The primary key on (requester, request_id) is the replay guard; the
	// single write transaction serialises concurrent duplicates.
	res, err := tx.ExecContext(ctx, `INSERT INTO request_ids (requester, request_id, leaf_index) VALUES (?, ?, ?)
		ON CONFLICT (requester, request_id) DO NOTHING`, c.Requester, c.RequestID, int64(idx))
	if err != nil {
		return Appended{}, unavailable("recording request id", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Appended{}, unavailable("recording request id", err)
	} else if n == 0 {
		return Appended{}, ErrReplay
	}

	if c.ConsentID != "" {
		if err := consumeConsent(ctx, tx, c.Leaf.Subject, c.ConsentID, c.MaxUses); err != nil {
			return Appended{}, err
		}
	}

	if err := insertLeaf(ctx, tx, inquiryLog, idx, &c.Leaf); err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: c.Leaf.LeafHash}, nil
}

// consumeConsent adds one use to the consent, refusing a consent its subject
// revoked and uses beyond maxUses.
func consumeConsent(ctx context.Context, tx *sql.Tx, subject, consentID string, maxUses int) error {
	if err := checkConsentUsable(tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM revocations WHERE subject = ? AND consent_id = ?)`,
		subject, consentID), maxUses); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO consent_uses (subject, consent_id, uses) VALUES (?, ?, 1)
		ON CONFLICT (subject, consent_id) DO UPDATE SET uses = consent_uses.uses + 1 WHERE consent_uses.uses < ?`,
		subject, consentID, maxUses)
	if err != nil {
		return unavailable("consuming consent", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return unavailable("consuming consent", err)
	} else if n == 0 {
		return ErrConsentExhausted
	}
	return nil
}

// nextIndex is the index the next leaf of table gets: one past the largest
// stored, read inside the write transaction. Rows are never deleted, so the
// indexes stay dense and a crash can never hand one out twice.
func nextIndex(ctx context.Context, tx *sql.Tx, table string) (uint64, error) {
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM `+table).Scan(&next); err != nil {
		return 0, unavailable("reading "+table+" size", err)
	}
	return uint64(next), nil
}

func insertLeaf(ctx context.Context, tx *sql.Tx, table string, idx uint64, l *Leaf) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (idx, subject, time, entry, salt, leaf_hash) VALUES (?, ?, ?, ?, ?, ?)`,
		int64(idx), l.Subject, l.Time.UnixNano(), l.Entry, l.Salt, l.LeafHash); err != nil {
		return unavailable("appending to "+table, err)
	}
	return nil
}

// appendLeaf appends l to table in its own transaction.
func (s *SQLite) appendLeaf(ctx context.Context, table string, l *Leaf) (Appended, error) {
	if err := l.validate(); err != nil {
		return Appended{}, err
	}
	var idx uint64
	err := s.inWriteTx(ctx, "appending to "+table, func(tx *sql.Tx) error {
		var err error
		if idx, err = nextIndex(ctx, tx, table); err != nil {
			return err
		}
		return insertLeaf(ctx, tx, table, idx, l)
	})
	if err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: l.LeafHash}, nil
}

// AppendInquiry appends l to the inquiry log without touching request ids or
// consents: the denial path, which logs the attempt before answering. The
// leaf is durable when AppendInquiry returns.
func (s *SQLite) AppendInquiry(ctx context.Context, l Leaf) (Appended, error) {
	return s.appendLeaf(ctx, inquiryLog, &l)
}

// AppendOutbound appends l to the requester's outbound log. The leaf is
// durable when AppendOutbound returns.
func (s *SQLite) AppendOutbound(ctx context.Context, l Leaf) (Appended, error) {
	return s.appendLeaf(ctx, outboundLog, &l)
}

// InquiryLeaves returns the inquiry-log leaves with index in [from, to), in
// index order. It fails with ErrNotFound if to is beyond the log's size and
// ErrInvalid if from > to. Callers serving outside requests bound the range.
func (s *SQLite) InquiryLeaves(ctx context.Context, from, to uint64) ([]StoredLeaf, error) {
	return s.leaves(ctx, inquiryLog, from, to)
}

// OutboundLeaves is InquiryLeaves for the outbound log.
func (s *SQLite) OutboundLeaves(ctx context.Context, from, to uint64) ([]StoredLeaf, error) {
	return s.leaves(ctx, outboundLog, from, to)
}

func (s *SQLite) leaves(ctx context.Context, table string, from, to uint64) ([]StoredLeaf, error) {
	if err := checkLeafRange(from, to); err != nil {
		return nil, err
	}
	if from == to {
		return nil, nil
	}
	out, err := s.queryLeaves(ctx, table, `SELECT `+leafColumns+` FROM `+table+`
		WHERE idx >= ? AND idx < ? ORDER BY idx`, int64(from), int64(to))
	return leafRange(out, err, table, from, to)
}

// SubjectInquiries returns every inquiry-log leaf about subject, in index
// order: what the subject may read of who asked about them.
func (s *SQLite) SubjectInquiries(ctx context.Context, subject string) ([]StoredLeaf, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	return s.queryLeaves(ctx, inquiryLog, `SELECT `+leafColumns+` FROM `+inquiryLog+`
		WHERE subject = ? ORDER BY idx`, subject)
}

func (s *SQLite) queryLeaves(ctx context.Context, table, q string, args ...any) ([]StoredLeaf, error) {
	rows, err := sqlRows(s.r.QueryContext(ctx, q, args...))
	return readLeaves(rows, err, table)
}

// InquiryLogSize is the number of leaves in the inquiry log.
func (s *SQLite) InquiryLogSize(ctx context.Context) (uint64, error) {
	return s.logSize(ctx, inquiryLog)
}

// OutboundLogSize is the number of leaves in the outbound log.
func (s *SQLite) OutboundLogSize(ctx context.Context) (uint64, error) {
	return s.logSize(ctx, outboundLog)
}

func (s *SQLite) logSize(ctx context.Context, table string) (uint64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM `+table).Scan(&n); err != nil {
		return 0, unavailable("reading "+table+" size", err)
	}
	return uint64(n), nil
}
