package store

import (
	"context"
	"database/sql"
	"fmt"
)

// WitnessRecord returns peer's record, or ErrNotFound.
func (s *SQLite) WitnessRecord(ctx context.Context, peer string) (WitnessRecord, error) {
	return scanWitnessRecord(s.r.QueryRowContext(ctx, `SELECT size, root, map_root, vrf_key, cosigned, seen_at FROM witness_checkpoints WHERE peer = ?`, peer), peer)
}

// SaveWitnessRecord stores r as its peer's record, durably. It fails with
// ErrWitnessRollback if the stored record is of a larger tree.
func (s *SQLite) SaveWitnessRecord(ctx context.Context, r WitnessRecord) error {
	if err := r.validate(); err != nil {
		return err
	}
	return s.inWriteTx(ctx, "storing witness record", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO witness_checkpoints (peer, size, root, map_root, vrf_key, cosigned, seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (peer) DO UPDATE SET size = excluded.size, root = excluded.root, map_root = excluded.map_root,
				vrf_key = excluded.vrf_key, cosigned = excluded.cosigned, seen_at = excluded.seen_at
			WHERE excluded.size >= witness_checkpoints.size`,
			r.Peer, int64(r.Size), r.Root, r.MapRoot, r.VRFKey, r.Cosigned, r.SeenAt.UnixNano())
		if err != nil {
			return unavailable("storing witness record", err)
		}
		// Unlike the other RowsAffected checks here, a failure to count
		// is not an error (PostgreSQL's count cannot fail): kept as it was.
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("%w: %s", ErrWitnessRollback, r.Peer)
		}
		return nil
	})
}

// AddWitnessAlarm appends a durably.
func (s *SQLite) AddWitnessAlarm(ctx context.Context, a WitnessAlarm) error {
	return s.inWriteTx(ctx, "storing witness alarm", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO witness_alarms (time, peer, kind, detail, previous, offending) VALUES (?, ?, ?, ?, ?, ?)`,
			a.Time.UnixNano(), a.Peer, a.Kind, a.Detail, a.Previous, a.Offending); err != nil {
			return unavailable("storing witness alarm", err)
		}
		return nil
	})
}

// WitnessAlarms returns every alarm, oldest first.
func (s *SQLite) WitnessAlarms(ctx context.Context) ([]WitnessAlarm, error) {
	rows, err := sqlRows(s.r.QueryContext(ctx, `SELECT time, peer, kind, detail, previous, offending FROM witness_alarms ORDER BY id`))
	return readWitnessAlarms(rows, err)
}
