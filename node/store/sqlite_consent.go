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

// ConsentUses is how many committed inquiries used the consent; 0 for a
// consent never used.
func (s *SQLite) ConsentUses(ctx context.Context, consentID string) (int, error) {
	var uses int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT uses FROM consent_uses WHERE consent_id = ?), 0)`, consentID).Scan(&uses)
	if err != nil {
		return 0, unavailable("reading consent uses", err)
	}
	return uses, nil
}

// Revoke records that a consent was withdrawn. It is idempotent: revoking a
// consent again succeeds and keeps the first revocation. From the moment
// Revoke returns, CommitInquiry refuses the consent with ErrConsentRevoked.
func (s *SQLite) Revoke(ctx context.Context, r Revocation) error {
	if err := r.validate(); err != nil {
		return err
	}
	return s.inWriteTx(ctx, "revoking consent", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revocations (consent_id, subject, revocation_id, revoked_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (consent_id) DO NOTHING`,
			r.ConsentID, r.Subject, r.RevocationID, r.RevokedAt.UnixNano()); err != nil {
			return unavailable("revoking consent", err)
		}
		return nil
	})
}

// Revoked reports whether the consent has been revoked.
func (s *SQLite) Revoked(ctx context.Context, consentID string) (bool, error) {
	var revoked bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM revocations WHERE consent_id = ?)`, consentID).Scan(&revoked); err != nil {
		return false, unavailable("reading revocations", err)
	}
	return revoked, nil
}
