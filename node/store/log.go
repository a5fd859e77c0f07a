package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The two logs share one schema; the table name is always one of these
// constants, never caller input.
const (
	inquiryLog  = "inquiry_log"
	outboundLog = "outbound_log"
)

// isCommitRefusal reports whether err is a per-commit refusal rather than a
// database failure.
func isCommitRefusal(err error) bool {
	return errors.Is(err, ErrReplay) || errors.Is(err, ErrConsentExhausted) || errors.Is(err, ErrConsentRevoked)
}

// validateCommits checks each commit of a CommitBatch, setting the result's
// Err of every invalid one, and counts the valid ones.
func validateCommits(cs []Commit) ([]BatchResult, int) {
	res := make([]BatchResult, len(cs))
	valid := 0
	for i := range cs {
		if res[i].Err = cs[i].validate(); res[i].Err == nil {
			valid++
		}
	}
	return res, valid
}

// settle records in r the outcome of one commit of a batch: a refusal fails
// that commit alone; any other error fails the whole batch and is returned.
func settle(r *BatchResult, a Appended, err error) error {
	switch {
	case err == nil:
		r.Appended = a
	case isCommitRefusal(err):
		r.Err = err
	default:
		return err
	}
	return nil
}

// checkConsentUsable reads row, whether the consent's subject revoked it,
// and refuses a revoked consent (ErrConsentRevoked) or one allowing no use
// (ErrConsentExhausted).
func checkConsentUsable(row rowScanner, maxUses int) error {
	var revoked bool
	if err := row.Scan(&revoked); err != nil {
		return unavailable("reading revocations", err)
	}
	if revoked {
		return ErrConsentRevoked
	}
	if maxUses < 1 {
		return ErrConsentExhausted
	}
	return nil
}

// checkLeafRange checks an InquiryLeaves or OutboundLeaves range.
func checkLeafRange(from, to uint64) error {
	if from > to || to > 1<<63-1 {
		return invalid("leaf range [%d, %d)", from, to)
	}
	return nil
}

// readLeaves reads the rows of a leaf query on table (leafColumns).
func readLeaves(rows rowIter, err error, table string) ([]StoredLeaf, error) {
	return collect(rows, err, "reading "+table, scanStoredLeaf)
}

// leafRange checks that a query for [from, to) of table found every leaf.
// Indexes are dense, so fewer rows than asked for means the range runs past
// the end of the log.
func leafRange(out []StoredLeaf, err error, table string, from, to uint64) ([]StoredLeaf, error) {
	if err != nil {
		return nil, err
	}
	if uint64(len(out)) != to-from {
		return nil, fmt.Errorf("%w: %s leaves [%d, %d): log has %d of them", ErrNotFound, table, from, to, len(out))
	}
	return out, nil
}

// CommitInquiry records an answered query in one transaction: it marks
// (c.Requester, c.RequestID) as used, consumes one use of c.ConsentID (if
// set) and appends c.Leaf to the inquiry log. It fails with ErrReplay if the
// request id was used before, ErrConsentExhausted if the consent has no uses
// left, and ErrConsentRevoked if its subject (c.Leaf.Subject) revoked it; in
// each case nothing is written. Of several concurrent commits of the same
// request id exactly one succeeds. The leaf is durable when CommitInquiry
// returns.
func (s *ops) CommitInquiry(ctx context.Context, c Commit) (Appended, error) {
	if err := c.validate(); err != nil {
		return Appended{}, err
	}
	var a Appended
	err := s.d.transact(ctx, "committing inquiry", func(tx conn) error {
		var err error
		a, err = s.commitTx(ctx, tx, &c)
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
func (s *ops) CommitBatch(ctx context.Context, cs []Commit) ([]BatchResult, error) {
	res, valid := validateCommits(cs)
	if valid == 0 {
		return res, nil
	}
	err := s.d.transact(ctx, "committing inquiry batch", func(tx conn) error {
		for i := range cs {
			if res[i].Err != nil {
				continue
			}
			a, err := s.commitSavepoint(ctx, tx, &cs[i])
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
func (s *ops) commitSavepoint(ctx context.Context, tx conn, c *Commit) (Appended, error) {
	if _, err := tx.exec(ctx, `SAVEPOINT commit_one`); err != nil {
		return Appended{}, unavailable("committing inquiry", err)
	}
	a, err := s.commitTx(ctx, tx, c)
	if err != nil {
		if _, rerr := tx.exec(ctx, `ROLLBACK TO commit_one`); rerr != nil {
			return Appended{}, unavailable("committing inquiry", rerr)
		}
	}
	if _, rerr := tx.exec(ctx, `RELEASE commit_one`); rerr != nil {
		return Appended{}, unavailable("committing inquiry", rerr)
	}
	return a, err
}

// commitTx applies one Commit inside tx. On ErrReplay, ErrConsentExhausted or
// ErrConsentRevoked it may already have written part of the commit: the
// caller must roll back (the transaction or a savepoint). The request id is
// checked before the consent, so a commit both replayed and exhausted is
// refused as a replay.
func (s *ops) commitTx(ctx context.Context, tx conn, c *Commit) (Appended, error) {
	idx, err := s.d.nextIndex(ctx, tx, inquiryLog)
	if err != nil {
		return Appended{}, err
	}
	// The primary key on (requester, request_id) is the replay guard: the
	// second of two concurrent duplicates waits for the first (PostgreSQL)
	// or for the writer (SQLite), and then sees it.
	n, err := tx.exec(ctx, `INSERT INTO request_ids (requester, request_id, leaf_index) VALUES (?, ?, ?)
		ON CONFLICT (requester, request_id) DO NOTHING`, c.Requester, c.RequestID, int64(idx))
	if err != nil {
		return Appended{}, unavailable("recording request id", err)
	}
	if n == 0 {
		return Appended{}, ErrReplay
	}
	if c.ConsentID != "" {
		if err := s.consumeConsent(ctx, tx, c.Leaf.Subject, c.ConsentID, c.MaxUses); err != nil {
			return Appended{}, err
		}
	}
	if err := insertLeaf(ctx, tx, inquiryLog, idx, &c.Leaf); err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: c.Leaf.LeafHash}, nil
}

// consumeConsent adds one use to the consent, refusing a consent its subject
// revoked and uses beyond maxUses. On PostgreSQL it holds the consent's lock
// from before the revocation check to the end of the transaction, so a
// Revoke either committed before the check (and is seen: each statement at
// READ COMMITTED reads what is committed when it starts) or waits for this
// commit.
func (s *ops) consumeConsent(ctx context.Context, tx conn, subject, consentID string, maxUses int) error {
	if err := s.d.serialise(ctx, tx, "locking consent", consentLockSQL, consentID); err != nil {
		return err
	}
	if err := checkConsentUsable(tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revocations WHERE subject = ? AND consent_id = ?)`,
		subject, consentID), maxUses); err != nil {
		return err
	}
	n, err := tx.exec(ctx, `INSERT INTO consent_uses (subject, consent_id, uses) VALUES (?, ?, 1)
		ON CONFLICT (subject, consent_id) DO UPDATE SET uses = consent_uses.uses + 1 WHERE consent_uses.uses < ?`,
		subject, consentID, maxUses)
	if err != nil {
		return unavailable("consuming consent", err)
	}
	if n == 0 {
		return ErrConsentExhausted
	}
	return nil
}

func insertLeaf(ctx context.Context, tx conn, table string, idx uint64, l *Leaf) error {
	if _, err := tx.exec(ctx, `INSERT INTO `+table+` (idx, subject, time, entry, salt, leaf_hash) VALUES (?, ?, ?, ?, ?, ?)`,
		int64(idx), l.Subject, l.Time.UnixNano(), l.Entry, l.Salt, l.LeafHash); err != nil {
		return unavailable("appending to "+table, err)
	}
	if table != outboundLog {
		return nil
	}
	var k AuditKeys
	if l.Audit != nil {
		k = *l.Audit
	}
	if _, err := tx.exec(ctx, `INSERT INTO outbound_audit (idx, staff_id, business_ref, purpose) VALUES (?, ?, ?, ?)`,
		int64(idx), k.StaffID, k.BusinessRef, k.Purpose); err != nil {
		return unavailable("indexing outbound leaf", err)
	}
	return nil
}

// SearchOutbound returns the outbound leaves f selects, through the audit
// index (migration 0016), in index order. The caller checks each leaf's
// entry against f: the index can only narrow the search.
func (s *ops) SearchOutbound(ctx context.Context, f OutboundSearch) ([]StoredLeaf, error) {
	if f.Limit <= 0 {
		return nil, invalid("search without a limit")
	}
	var where []string
	var args []any
	for _, c := range []struct {
		col, v string
	}{{"o.subject", f.Subject}, {"a.staff_id", f.StaffID}, {"a.business_ref", f.BusinessRef}, {"a.purpose", f.Purpose}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		where = append(where, "o.time >= ?")
		args = append(args, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		where = append(where, "o.time < ?")
		args = append(args, f.To.UnixNano())
	}
	q := `SELECT o.idx, o.subject, o.time, o.entry, o.salt, o.leaf_hash FROM ` + outboundLog + ` o
		JOIN outbound_audit a ON a.idx = o.idx`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY o.idx LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.d.reader().query(ctx, q, args...)
	return readLeaves(rows, err, outboundLog)
}

// appendLeafTx appends l to table inside tx at the next index.
func (s *ops) appendLeafTx(ctx context.Context, tx conn, table string, l *Leaf) (uint64, error) {
	idx, err := s.d.nextIndex(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	return idx, insertLeaf(ctx, tx, table, idx, l)
}

// appendLeaf appends l to table in its own transaction.
func (s *ops) appendLeaf(ctx context.Context, table string, l *Leaf) (Appended, error) {
	if err := l.validate(); err != nil {
		return Appended{}, err
	}
	var idx uint64
	err := s.d.transact(ctx, "appending to "+table, func(tx conn) error {
		var err error
		idx, err = s.appendLeafTx(ctx, tx, table, l)
		return err
	})
	if err != nil {
		return Appended{}, err
	}
	return Appended{Index: idx, LeafHash: l.LeafHash}, nil
}

// AppendInquiry appends l to the inquiry log without touching request ids or
// consents: the denial path, which logs the attempt before answering. The
// leaf is durable when AppendInquiry returns.
func (s *ops) AppendInquiry(ctx context.Context, l Leaf) (Appended, error) {
	return s.appendLeaf(ctx, inquiryLog, &l)
}

// AppendOutbound appends l to the requester's outbound log. The leaf is
// durable when AppendOutbound returns.
func (s *ops) AppendOutbound(ctx context.Context, l Leaf) (Appended, error) {
	return s.appendLeaf(ctx, outboundLog, &l)
}

// InquiryLeaves returns the inquiry-log leaves with index in [from, to), in
// index order. It fails with ErrNotFound if to is beyond the log's size and
// ErrInvalid if from > to. Callers serving outside requests bound the range.
func (s *ops) InquiryLeaves(ctx context.Context, from, to uint64) ([]StoredLeaf, error) {
	return s.leaves(ctx, inquiryLog, from, to)
}

// OutboundLeaves is InquiryLeaves for the outbound log.
func (s *ops) OutboundLeaves(ctx context.Context, from, to uint64) ([]StoredLeaf, error) {
	return s.leaves(ctx, outboundLog, from, to)
}

func (s *ops) leaves(ctx context.Context, table string, from, to uint64) ([]StoredLeaf, error) {
	if err := checkLeafRange(from, to); err != nil {
		return nil, err
	}
	if from == to {
		return nil, nil
	}
	rows, err := s.d.reader().query(ctx, `SELECT `+leafColumns+` FROM `+table+`
		WHERE idx >= ? AND idx < ? ORDER BY idx`, int64(from), int64(to))
	out, err := readLeaves(rows, err, table)
	return leafRange(out, err, table, from, to)
}

// SubjectInquiries returns every inquiry-log leaf about subject, in index
// order: what the subject may read of who asked about them.
func (s *ops) SubjectInquiries(ctx context.Context, subject string) ([]StoredLeaf, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	rows, err := s.d.reader().query(ctx, `SELECT `+leafColumns+` FROM `+inquiryLog+`
		WHERE subject = ? ORDER BY idx`, subject)
	return readLeaves(rows, err, inquiryLog)
}

// SubjectInquiryPage returns at most limit of the inquiry-log leaves about
// subject whose index is from or above, in index order: one page of
// SubjectInquiries. It fails with ErrInvalid for an empty subject, a limit
// below 1 or a from beyond the largest index.
func (s *ops) SubjectInquiryPage(ctx context.Context, subject string, from uint64, limit int) ([]StoredLeaf, error) {
	switch {
	case subject == "":
		return nil, invalid("empty subject")
	case limit < 1:
		return nil, invalid("page limit %d", limit)
	case from > 1<<63-1:
		return nil, invalid("page from %d", from)
	}
	rows, err := s.d.reader().query(ctx, `SELECT `+leafColumns+` FROM `+inquiryLog+`
		WHERE subject = ? AND idx >= ? ORDER BY idx LIMIT ?`, subject, int64(from), limit)
	return readLeaves(rows, err, inquiryLog)
}

// SubjectInquiryIndexes returns the log indexes of the inquiry-log leaves
// about subject, in order: those of SubjectInquiries, without reading the
// leaves.
func (s *ops) SubjectInquiryIndexes(ctx context.Context, subject string) ([]uint64, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	rows, err := s.d.reader().query(ctx, `SELECT idx FROM `+inquiryLog+` WHERE subject = ? ORDER BY idx`, subject)
	return collect(rows, err, "reading "+inquiryLog+" indexes", func(row rowScanner) (uint64, error) {
		var i int64
		err := row.Scan(&i)
		return uint64(i), err
	})
}

// InquiryLogSize is the number of leaves in the inquiry log.
func (s *ops) InquiryLogSize(ctx context.Context) (uint64, error) {
	return s.logSize(ctx, inquiryLog)
}

// OutboundLogSize is the number of leaves in the outbound log.
func (s *ops) OutboundLogSize(ctx context.Context) (uint64, error) {
	return s.logSize(ctx, outboundLog)
}

// logSize reads the committed size from the rows themselves (on PostgreSQL
// not from the head, so it never counts an index reserved by a transaction
// in flight).
func (s *ops) logSize(ctx context.Context, table string) (uint64, error) {
	var n int64
	if err := s.d.reader().queryRow(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM `+table).Scan(&n); err != nil {
		return 0, unavailable("reading "+table+" size", err)
	}
	return uint64(n), nil
}
