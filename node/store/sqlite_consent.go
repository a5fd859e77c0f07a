package store

import (
	"context"
	"database/sql"
)

// RequestSeen reports whether (requester, requestID) has been committed.
func (s *SQLite) RequestSeen(ctx context.Context, requester, requestID string) (bool, error) {
	var seen bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM request_ids WHERE requester = ? AND request_id = ?)`,
		requester, requestID).Scan(&seen); err != nil {
		return false, unavailable("reading request ids", err)
	}
	return seen, nil
}

// ConsentUses is how many committed inquiries used subject's consent
// consentID; 0 for a consent never used. Consent ids are chosen by
// subjects: another subject's consent with the same id has its own count.
func (s *SQLite) ConsentUses(ctx context.Context, subject, consentID string) (int, error) {
	var uses int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT uses FROM consent_uses WHERE subject = ? AND consent_id = ?), 0)`,
		subject, consentID).Scan(&uses)
	if err != nil {
		return 0, unavailable("reading consent uses", err)
	}
	return uses, nil
}

// Revoke records that r.Subject withdrew the consent r.ConsentID. It is
// idempotent per (subject, consent): revoking again succeeds and keeps the
// first revocation. A revocation counts only for its own subject: one sent by
// another subject neither revokes the consent for its real subject nor stops
// that subject's own revocation from being stored. From the moment Revoke
// returns, CommitInquiry refuses the consent, for that subject, with
// ErrConsentRevoked.
func (s *SQLite) Revoke(ctx context.Context, r Revocation) error {
	if err := r.validate(); err != nil {
		return err
	}
	return s.inWriteTx(ctx, "revoking consent", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revocations (subject, consent_id, revocation_id, revoked_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (subject, consent_id) DO NOTHING`,
			r.Subject, r.ConsentID, r.RevocationID, r.RevokedAt.UnixNano()); err != nil {
			return unavailable("revoking consent", err)
		}
		return nil
	})
}

// Revoked reports whether subject has revoked the consent. A revocation of
// the same consent id by another subject does not count.
func (s *SQLite) Revoked(ctx context.Context, subject, consentID string) (bool, error) {
	var revoked bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM revocations WHERE subject = ? AND consent_id = ?)`,
		subject, consentID).Scan(&revoked); err != nil {
		return false, unavailable("reading revocations", err)
	}
	return revoked, nil
}
