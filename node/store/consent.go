package store

import (
	"context"
	"time"
)

// consentLockSQL takes, on PostgreSQL, the transaction-scoped advisory lock
// that serialises the consumptions and revocations of one consent id within
// the current schema: a commit consuming the consent either finished before
// a revocation (which does not undo it) or sees the revocation once Revoke
// has returned.
const consentLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ' consent ' || ?, 0))`

// RequestSeen reports whether (requester, requestID) has been committed.
func (s *ops) RequestSeen(ctx context.Context, requester, requestID string) (bool, error) {
	return exists(ctx, s.d.reader(), "reading request ids", `SELECT EXISTS (SELECT 1 FROM request_ids WHERE requester = ? AND request_id = ?)`,
		requester, requestID)
}

// ConsentUses is how many committed inquiries used subject's consent
// consentID; 0 for a consent never used. Consent ids are chosen by
// subjects: another subject's consent with the same id has its own count.
func (s *ops) ConsentUses(ctx context.Context, subject, consentID string) (int, error) {
	var uses int
	if err := s.d.reader().queryRow(ctx, `SELECT COALESCE((SELECT uses FROM consent_uses WHERE subject = ? AND consent_id = ?), 0)`,
		subject, consentID).Scan(&uses); err != nil {
		return 0, unavailable("reading consent uses", err)
	}
	return uses, nil
}

// ConsentUsedElsewhere reports whether a subject other than subject has
// used a consent with the id consentID: then a revocation of that id by
// subject names a consent the provider knows as someone else's. It scans
// consent_uses by consent id (revocations are rare).
func (s *ops) ConsentUsedElsewhere(ctx context.Context, subject, consentID string) (bool, error) {
	return exists(ctx, s.d.reader(), "reading consent uses", `SELECT EXISTS (SELECT 1 FROM consent_uses WHERE consent_id = ? AND subject <> ?)`,
		consentID, subject)
}

// Revoke records that r.Subject withdrew the consent r.ConsentID. It is
// idempotent per (subject, consent): revoking again succeeds and keeps the
// first revocation. A revocation counts only for its own subject: one sent by
// another subject neither revokes the consent for its real subject nor stops
// that subject's own revocation from being stored. From the moment Revoke
// returns, CommitInquiry refuses the consent, for that subject, with
// ErrConsentRevoked.
func (s *ops) Revoke(ctx context.Context, r Revocation) error {
	if err := r.validate(); err != nil {
		return err
	}
	return s.d.transact(ctx, "revoking consent", func(tx conn) error {
		if err := s.d.serialise(ctx, tx, "locking consent", consentLockSQL, r.ConsentID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO revocations (subject, consent_id, revocation_id, revoked_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (subject, consent_id) DO NOTHING`,
			r.Subject, r.ConsentID, r.RevocationID, r.RevokedAt.UnixNano()); err != nil {
			return unavailable("revoking consent", err)
		}
		return nil
	})
}

// Revoked reports whether subject has revoked the consent. A revocation of
// the same consent id by another subject does not count.
func (s *ops) Revoked(ctx context.Context, subject, consentID string) (bool, error) {
	return exists(ctx, s.d.reader(), "reading revocations", `SELECT EXISTS (SELECT 1 FROM revocations WHERE subject = ? AND consent_id = ?)`,
		subject, consentID)
}

// Usage is a requester's allowed queries about one subject for one purpose
// in a fair-use period: how many, and when the oldest of them was logged
// (zero when there is none), from which the period frees a slot.
type Usage struct {
	Queries int
	Oldest  time.Time
}

// AllowedQueries counts the allowed query entries of requester about subject
// for purpose logged at or after since: the usage the fair-use policy limits,
// per purpose (traffic for one purpose never uses up another's limit). It
// reads the inquiry log (index inquiry_log_subject_time), so the count is
// exactly what the subject can see.
func (s *ops) AllowedQueries(ctx context.Context, requester, subject, purpose string, since time.Time) (Usage, error) {
	var (
		n      int
		oldest *int64
	)
	if err := s.d.reader().queryRow(ctx, s.d.allowedQueriesSQL(), subject, since.UnixNano(), requester, purpose).Scan(&n, &oldest); err != nil {
		return Usage{}, unavailable("counting allowed queries", err)
	}
	u := Usage{Queries: n}
	if oldest != nil {
		u.Oldest = time.Unix(0, *oldest).UTC()
	}
	return u, nil
}
