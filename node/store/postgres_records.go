package store

import (
	"context"

	"github.com/creditexchange/node/node/records"
	"github.com/jackc/pgx/v5"
)

// ImportRecords inserts or replaces recs, keyed by (subject, category, id),
// in one transaction: either every record is stored or none is. The upserts
// are sent as one pipelined batch.
func (s *Postgres) ImportRecords(ctx context.Context, recs []records.Record) error {
	if err := validateImport(recs); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	return s.inTx(ctx, "importing records", func(tx pgx.Tx) error {
		var b pgx.Batch
		for i := range recs {
			r := &recs[i]
			b.Queue(`INSERT INTO records (subject, category, id, data, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (subject, category, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
				r.Subject, r.Category, r.ID, []byte(r.Data), r.UpdatedAt.UnixNano())
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return unavailable("importing records", err)
		}
		return nil
	})
}

// Records returns the subject's records in the given categories, ordered by
// category then id; an empty list returns no records.
func (s *Postgres) Records(ctx context.Context, subject string, categories []string) ([]records.Record, error) {
	if subject == "" {
		return nil, invalid("empty subject")
	}
	cats, err := sortedCategories(categories)
	if err != nil || cats == nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT category, id, data, updated_at FROM records
		WHERE subject = $1 AND category = ANY($2) ORDER BY category, id`, subject, cats)
	return readSubjectRecords(rows, err, subject)
}

// RequestSeen reports whether (requester, requestID) has been committed.
func (s *Postgres) RequestSeen(ctx context.Context, requester, requestID string) (bool, error) {
	var seen bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM request_ids WHERE requester = $1 AND request_id = $2)`,
		requester, requestID).Scan(&seen); err != nil {
		return false, unavailable("reading request ids", err)
	}
	return seen, nil
}

// ConsentUses is [SQLite.ConsentUses]: the uses of subject's consent.
func (s *Postgres) ConsentUses(ctx context.Context, subject, consentID string) (int, error) {
	var uses int
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE((SELECT uses FROM consent_uses WHERE subject = $1 AND consent_id = $2), 0)`,
		subject, consentID).Scan(&uses); err != nil {
		return 0, unavailable("reading consent uses", err)
	}
	return uses, nil
}

// Revoke is [SQLite.Revoke]: idempotent per (subject, consent), counting
// only for its own subject. It takes the consent's advisory lock, so a
// commit consuming the consent either finished before (and the revocation
// does not undo it) or sees the revocation once Revoke has returned.
func (s *Postgres) Revoke(ctx context.Context, r Revocation) error {
	if err := r.validate(); err != nil {
		return err
	}
	return s.inTx(ctx, "revoking consent", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, consentLockSQL, r.ConsentID); err != nil {
			return unavailable("locking consent", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO revocations (subject, consent_id, revocation_id, revoked_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (subject, consent_id) DO NOTHING`,
			r.Subject, r.ConsentID, r.RevocationID, r.RevokedAt.UnixNano()); err != nil {
			return unavailable("revoking consent", err)
		}
		return nil
	})
}

// Revoked reports whether subject has revoked the consent.
func (s *Postgres) Revoked(ctx context.Context, subject, consentID string) (bool, error) {
	var revoked bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revocations WHERE subject = $1 AND consent_id = $2)`,
		subject, consentID).Scan(&revoked); err != nil {
		return false, unavailable("reading revocations", err)
	}
	return revoked, nil
}
