package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrWitnessRollback is returned by SaveWitnessRecord when the stored record
// of that peer is of a larger tree: a witness's view only moves forward.
var ErrWitnessRollback = errors.New("store: witness record would move backwards")

// WitnessRecord is the latest subject checkpoint a witness cosigned for a
// peer (node/witness).
type WitnessRecord struct {
	Peer     string
	Size     uint64
	Root     []byte
	MapRoot  []byte
	VRFKey   []byte
	Cosigned []byte
	SeenAt   time.Time
}

// WitnessAlarm is one alarm a witness raised, with its evidence.
type WitnessAlarm struct {
	Time                time.Time
	Peer, Kind, Detail  string
	Previous, Offending string
}

// WitnessRecord returns peer's record, or ErrNotFound.
func (s *SQLite) WitnessRecord(ctx context.Context, peer string) (WitnessRecord, error) {
	r := WitnessRecord{Peer: peer}
	var size, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT size, root, map_root, vrf_key, cosigned, seen_at FROM witness_checkpoints WHERE peer = ?`, peer).
		Scan(&size, &r.Root, &r.MapRoot, &r.VRFKey, &r.Cosigned, &seen)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return WitnessRecord{}, fmt.Errorf("%w: no witness record for %s", ErrNotFound, peer)
	case err != nil:
		return WitnessRecord{}, unavailable("reading witness record", err)
	}
	r.Size, r.SeenAt = uint64(size), time.Unix(0, seen).UTC()
	return r, nil
}

// SaveWitnessRecord stores r as its peer's record, durably. It fails with
// ErrWitnessRollback if the stored record is of a larger tree.
func (s *SQLite) SaveWitnessRecord(ctx context.Context, r WitnessRecord) error {
	if r.Peer == "" || len(r.Root) != HashSize || len(r.MapRoot) != HashSize || len(r.VRFKey) != 32 || len(r.Cosigned) == 0 {
		return invalid("witness record of %q", r.Peer)
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
	rows, err := s.r.QueryContext(ctx, `SELECT time, peer, kind, detail, previous, offending FROM witness_alarms ORDER BY id`)
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
