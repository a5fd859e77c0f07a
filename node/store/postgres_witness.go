package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// WitnessRecord is SQLite.WitnessRecord on PostgreSQL.
func (s *Postgres) WitnessRecord(ctx context.Context, peer string) (WitnessRecord, error) {
	return scanWitnessRecord(s.pool.QueryRow(ctx, `SELECT size, root, map_root, vrf_key, cosigned, seen_at FROM witness_checkpoints WHERE peer = $1`, peer), peer)
}

// SaveWitnessRecord is SQLite.SaveWitnessRecord on PostgreSQL.
func (s *Postgres) SaveWitnessRecord(ctx context.Context, r WitnessRecord) error {
	if err := r.validate(); err != nil {
		return err
	}
	return s.inTx(ctx, "storing witness record", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO witness_checkpoints (peer, size, root, map_root, vrf_key, cosigned, seen_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (peer) DO UPDATE SET size = excluded.size, root = excluded.root, map_root = excluded.map_root,
				vrf_key = excluded.vrf_key, cosigned = excluded.cosigned, seen_at = excluded.seen_at
			WHERE excluded.size >= witness_checkpoints.size`,
			r.Peer, int64(r.Size), r.Root, r.MapRoot, r.VRFKey, r.Cosigned, r.SeenAt.UnixNano())
		if err != nil {
			return unavailable("storing witness record", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: %s", ErrWitnessRollback, r.Peer)
		}
		return nil
	})
}

// AddWitnessAlarm is SQLite.AddWitnessAlarm on PostgreSQL.
func (s *Postgres) AddWitnessAlarm(ctx context.Context, a WitnessAlarm) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO witness_alarms (time, peer, kind, detail, previous, offending) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.Time.UnixNano(), a.Peer, a.Kind, a.Detail, a.Previous, a.Offending); err != nil {
		return unavailable("storing witness alarm", err)
	}
	return nil
}

// WitnessAlarms is SQLite.WitnessAlarms on PostgreSQL.
func (s *Postgres) WitnessAlarms(ctx context.Context) ([]WitnessAlarm, error) {
	rows, err := s.pool.Query(ctx, `SELECT time, peer, kind, detail, previous, offending FROM witness_alarms ORDER BY id`)
	return readWitnessAlarms(rows, err)
}
