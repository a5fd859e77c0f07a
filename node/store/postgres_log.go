package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CommitInquiry is [SQLite.CommitInquiry] on PostgreSQL: request id, consent
// use and inquiry-log leaf in one transaction, all or nothing, durable when
// it returns.
func (s *Postgres) CommitInquiry(ctx context.Context, c Commit) (Appended, error) {
	if err := c.validate(); err != nil {
		return Appended{}, err
	}
	var a Appended
	err := s.inTx(ctx, "committing inquiry", func(tx pgx.Tx) error {
		var err error
		a, err = pgCommitTx(ctx, tx, &c)
		return err
	})
	if err != nil {
		return Appended{}, err
	}
	return a, nil
}

// CommitBatch is [SQLite.CommitBatch] on PostgreSQL: the commits run in one
// transaction (one WAL flush for the batch), each inside its own savepoint so
// that a refused commit is undone alone. A database failure fails the whole
// batch with ErrUnavailable and nothing is written.
func (s *Postgres) CommitBatch(ctx context.Context, cs []Commit) ([]BatchResult, error) {
	res, valid := validateCommits(cs)
	if valid == 0 {
		return res, nil
	}
	err := s.inTx(ctx, "committing inquiry batch", func(tx pgx.Tx) error {
		for i := range cs {
			if res[i].Err != nil {
				continue
			}
			a, err := pgCommitSavepoint(ctx, tx, &cs[i])
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

// pgCommitSavepoint runs pgCommitTx inside a savepoint (a pgx nested
// transaction), so that a refused commit leaves the batch as it was.
func pgCommitSavepoint(ctx context.Context, tx pgx.Tx, c *Commit) (Appended, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return Appended{}, unavailable("committing inquiry", err)
	}
	a, err := pgCommitTx(ctx, sp, c)
	if err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return Appended{}, unavailable("committing inquiry", rerr)
		}
		return Appended{}, err
	}
	if err := sp.Commit(ctx); err != nil { // RELEASE SAVEPOINT
		return Appended{}, unavailable("committing inquiry", err)
	}
	return a, nil
}

// pgCommitTx applies one Commit inside tx. On a refusal it may already have
// written part of the commit: the caller must roll back.
//
// The order of the checks is SQLite's, so both backends refuse a commit that
// is both replayed and exhausted with the same error: the request id first,
// then the consent.
func pgCommitTx(ctx context.Context, tx pgx.Tx, c *Commit) (Appended, error) {
	idx, err := pgNextIndex(ctx, tx, inquiryLog)
	if err != nil {
		return Appended{}, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO request_ids (requester, request_id, leaf_index) VALUES ($1, $2, $3)
		ON CONFLICT (requester, request_id) DO NOTHING`, c.Requester, c.RequestID, int64(idx))
	if err != nil {
		return Appended{}, unavailable("recording request id", err)
	}
	if tag.RowsAffected() == 0 {
		return Appended{}, ErrReplay
	}
	if c.ConsentID != "" {
		if err := pgConsumeConsent(ctx, tx, c.Leaf.Subject, c.ConsentID, c.MaxUses); err != nil {
			return Appended{}, err
		}
	}
	if err := pgInsertLeaf(ctx, tx, inquiryLog, idx, &c.Leaf); err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: c.Leaf.LeafHash}, nil
}

// consentLockKey is the advisory-lock key serialising the consumptions and
// revocations of one consent id, within the current schema.
const consentLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ' consent ' || $1, 0))`

// pgConsumeConsent adds one use to the consent, refusing a consent its
// subject revoked and uses beyond maxUses. It holds the consent's advisory
// lock from before the revocation check to the end of the transaction, so a
// Revoke either committed before the check (and is seen: each statement at
// READ COMMITTED reads what is committed when it starts) or waits for this
// commit.
func pgConsumeConsent(ctx context.Context, tx pgx.Tx, subject, consentID string, maxUses int) error {
	if _, err := tx.Exec(ctx, consentLockSQL, consentID); err != nil {
		return unavailable("locking consent", err)
	}
	if err := checkConsentUsable(tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revocations WHERE subject = $1 AND consent_id = $2)`,
		subject, consentID), maxUses); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO consent_uses (subject, consent_id, uses) VALUES ($1, $2, 1)
		ON CONFLICT (subject, consent_id) DO UPDATE SET uses = consent_uses.uses + 1 WHERE consent_uses.uses < $3`,
		subject, consentID, maxUses)
	if err != nil {
		return unavailable("consuming consent", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrConsentExhausted
	}
	return nil
}

// pgNextIndex reserves the next index of table by growing its head, which
// row-locks the head until the transaction ends: concurrent appenders queue
// here, and a rollback gives the index back.
func pgNextIndex(ctx context.Context, tx pgx.Tx, table string) (uint64, error) {
	var next int64
	err := tx.QueryRow(ctx, `UPDATE log_heads SET size = size + 1 WHERE log = $1 RETURNING size - 1`, table).Scan(&next)
	if errNoRows(err) {
		return 0, unavailable("reserving "+table+" index", fmt.Errorf("log head of %s missing", table))
	}
	if err != nil {
		return 0, unavailable("reserving "+table+" index", err)
	}
	return uint64(next), nil
}

func pgInsertLeaf(ctx context.Context, tx pgx.Tx, table string, idx uint64, l *Leaf) error {
	if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (idx, subject, time, entry, salt, leaf_hash) VALUES ($1, $2, $3, $4, $5, $6)`,
		int64(idx), l.Subject, l.Time.UnixNano(), l.Entry, l.Salt, l.LeafHash); err != nil {
		return unavailable("appending to "+table, err)
	}
	return nil
}

func (s *Postgres) appendLeaf(ctx context.Context, table string, l *Leaf) (Appended, error) {
	if err := l.validate(); err != nil {
		return Appended{}, err
	}
	var idx uint64
	err := s.inTx(ctx, "appending to "+table, func(tx pgx.Tx) error {
		var err error
		if idx, err = pgNextIndex(ctx, tx, table); err != nil {
			return err
		}
		return pgInsertLeaf(ctx, tx, table, idx, l)
	})
	if err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: l.LeafHash}, nil
}

// AppendInquiry appends l to the inquiry log without touching request ids or
// consents (the denial path). The leaf is durable when it returns.
func (s *Postgres) AppendInquiry(ctx context.Context, l Leaf) (Appended, error) {
	return s.appendLeaf(ctx, inquiryLog, &l)
}

// AppendOutbound appends l to the requester's outbound log.
func (s *Postgres) AppendOutbound(ctx context.Context, l Leaf) (Appended, error) {
	return s.appendLeaf(ctx, outboundLog, &l)
}

// InquiryLeaves returns the inquiry-log leaves with index in [from, to), in
// index order; ErrNotFound if to is beyond the log's size, ErrInvalid if
// from > to.
func (s *Postgres) InquiryLeaves(ctx context.Context, from, to uint64) ([]StoredLeaf, error) {
	return s.leaves(ctx, inquiryLog, from, to)
}

// OutboundLeaves is InquiryLeaves for the outbound log.
func (s *Postgres) OutboundLeaves(ctx context.Context, from, to uint64) ([]StoredLeaf, error) {
	return s.leaves(ctx, outboundLog, from, to)
}

func (s *Postgres) leaves(ctx context.Context, table string, from, to uint64) ([]StoredLeaf, error) {
	if err := checkLeafRange(from, to); err != nil {
		return nil, err
	}
	if from == to {
		return nil, nil
	}
	out, err := s.queryLeaves(ctx, table, `SELECT `+leafColumns+` FROM `+table+`
		WHERE idx >= $1 AND idx < $2 ORDER BY idx`, int64(from), int64(to))
	return leafRange(out, err, table, from, to)
}

// SubjectInquiries returns every inquiry-log leaf about subject, in index
// order.
func (s *Postgres) SubjectInquiries(ctx context.Context, subject string) ([]StoredLeaf, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	return s.queryLeaves(ctx, inquiryLog, `SELECT `+leafColumns+` FROM `+inquiryLog+`
		WHERE subject = $1 ORDER BY idx`, subject)
}

func (s *Postgres) queryLeaves(ctx context.Context, table, q string, args ...any) ([]StoredLeaf, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	return readLeaves(rows, err, table)
}

// InquiryLogSize is the number of leaves in the inquiry log.
func (s *Postgres) InquiryLogSize(ctx context.Context) (uint64, error) {
	return s.logSize(ctx, inquiryLog)
}

// OutboundLogSize is the number of leaves in the outbound log.
func (s *Postgres) OutboundLogSize(ctx context.Context) (uint64, error) {
	return s.logSize(ctx, outboundLog)
}

// logSize reads the committed size from the rows themselves rather than the
// head, so it never counts an index reserved by a transaction in flight.
func (s *Postgres) logSize(ctx context.Context, table string) (uint64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM `+table).Scan(&n); err != nil {
		return 0, unavailable("reading "+table+" size", err)
	}
	return uint64(n), nil
}
