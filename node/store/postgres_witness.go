package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ScanLeafHashes is SQLite.ScanLeafHashes on PostgreSQL.
func (s *Postgres) ScanLeafHashes(ctx context.Context, log LogID, from uint64, fn func(index uint64, subject string, leafHash []byte) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT idx, subject, leaf_hash FROM `+table+` WHERE idx >= $1 ORDER BY idx`, int64(from))
	if err != nil {
		return unavailable("reading "+table, err)
	}
	defer rows.Close()
	next := from
	for rows.Next() {
		var idx int64
		var subject string
		var h []byte
		if err := rows.Scan(&idx, &subject, &h); err != nil {
			return unavailable("reading "+table, err)
		}
		if uint64(idx) != next {
			return fmt.Errorf("%w: %s has index %d where %d was expected", ErrTreeCorrupt, table, idx, next)
		}
		next++
		if err := fn(uint64(idx), subject, h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable("reading "+table, err)
	}
	return nil
}

// WitnessRecord is SQLite.WitnessRecord on PostgreSQL.
func (s *Postgres) WitnessRecord(ctx context.Context, peer string) (WitnessRecord, error) {
	r := WitnessRecord{Peer: peer}
	var size, seen int64
	err := s.pool.QueryRow(ctx, `SELECT size, root, map_root, vrf_key, cosigned, seen_at FROM witness_checkpoints WHERE peer = $1`, peer).
		Scan(&size, &r.Root, &r.MapRoot, &r.VRFKey, &r.Cosigned, &seen)
	switch {
	case errNoRows(err):
		return WitnessRecord{}, fmt.Errorf("%w: no witness record for %s", ErrNotFound, peer)
	case err != nil:
		return WitnessRecord{}, unavailable("reading witness record", err)
	}
	r.Size, r.SeenAt = uint64(size), time.Unix(0, seen).UTC()
	return r, nil
}

// SaveWitnessRecord is SQLite.SaveWitnessRecord on PostgreSQL.
func (s *Postgres) SaveWitnessRecord(ctx context.Context, r WitnessRecord) error {
	if r.Peer == "" || len(r.Root) != HashSize || len(r.MapRoot) != HashSize || len(r.VRFKey) != 32 || len(r.Cosigned) == 0 {
		return invalid("witness record of %q", r.Peer)
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
	if err != nil {
		return nil, unavailable("reading witness alarms", err)
	}
	defer rows.Close()
	out := []WitnessAlarm{}
	for rows.Next() {
		var a WitnessAlarm
		var t int64
		if err := rows.Scan(&t, &a.Peer, &a.Kind, &a.Detail, &a.Previous, &a.Offending); err != nil {
			return nil, unavailable("reading witness alarms", err)
		}
		a.Time = time.Unix(0, t).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("reading witness alarms", err)
	}
	return out, nil
}
