package store

import (
	"context"
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

func (r *WitnessRecord) validate() error {
	if r.Peer == "" || len(r.Root) != HashSize || len(r.MapRoot) != HashSize || len(r.VRFKey) != 32 || len(r.Cosigned) == 0 {
		return invalid("witness record of %q", r.Peer)
	}
	return nil
}

// scanWitnessRecord reads peer's row of (size, root, map_root, vrf_key,
// cosigned, seen_at): ErrNotFound if there is none.
func scanWitnessRecord(row rowScanner, peer string) (WitnessRecord, error) {
	r := WitnessRecord{Peer: peer}
	var size, seen int64
	err := row.Scan(&size, &r.Root, &r.MapRoot, &r.VRFKey, &r.Cosigned, &seen)
	switch {
	case isNoRows(err):
		return WitnessRecord{}, fmt.Errorf("%w: no witness record for %s", ErrNotFound, peer)
	case err != nil:
		return WitnessRecord{}, unavailable("reading witness record", err)
	}
	r.Size, r.SeenAt = uint64(size), unixTime(seen)
	return r, nil
}

// readWitnessAlarms reads rows of (time, peer, kind, detail, previous,
// offending); no alarm is an empty list, not nil.
func readWitnessAlarms(rows rowIter, err error) ([]WitnessAlarm, error) {
	out, err := collect(rows, err, "reading witness alarms", func(row rowScanner) (WitnessAlarm, error) {
		var a WitnessAlarm
		var t int64
		err := row.Scan(&t, &a.Peer, &a.Kind, &a.Detail, &a.Previous, &a.Offending)
		a.Time = unixTime(t)
		return a, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []WitnessAlarm{}
	}
	return out, nil
}

// WitnessRecord returns peer's record, or ErrNotFound.
func (s *ops) WitnessRecord(ctx context.Context, peer string) (WitnessRecord, error) {
	return scanWitnessRecord(s.d.reader().queryRow(ctx, `SELECT size, root, map_root, vrf_key, cosigned, seen_at FROM witness_checkpoints WHERE peer = ?`, peer), peer)
}

// SaveWitnessRecord stores r as its peer's record, durably. It fails with
// ErrWitnessRollback if the stored record is of a larger tree.
func (s *ops) SaveWitnessRecord(ctx context.Context, r WitnessRecord) error {
	if err := r.validate(); err != nil {
		return err
	}
	n, err := s.d.writer().exec(ctx, `INSERT INTO witness_checkpoints (peer, size, root, map_root, vrf_key, cosigned, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (peer) DO UPDATE SET size = excluded.size, root = excluded.root, map_root = excluded.map_root,
			vrf_key = excluded.vrf_key, cosigned = excluded.cosigned, seen_at = excluded.seen_at
		WHERE excluded.size >= witness_checkpoints.size`,
		r.Peer, int64(r.Size), r.Root, r.MapRoot, r.VRFKey, r.Cosigned, r.SeenAt.UnixNano())
	if err != nil {
		return unavailable("storing witness record", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrWitnessRollback, r.Peer)
	}
	return nil
}

// AddWitnessAlarm appends a durably.
func (s *ops) AddWitnessAlarm(ctx context.Context, a WitnessAlarm) error {
	if _, err := s.d.writer().exec(ctx, `INSERT INTO witness_alarms (time, peer, kind, detail, previous, offending) VALUES (?, ?, ?, ?, ?, ?)`,
		a.Time.UnixNano(), a.Peer, a.Kind, a.Detail, a.Previous, a.Offending); err != nil {
		return unavailable("storing witness alarm", err)
	}
	return nil
}

// WitnessAlarms returns every alarm, oldest first.
func (s *ops) WitnessAlarms(ctx context.Context) ([]WitnessAlarm, error) {
	return readWitnessAlarms(s.d.reader().query(ctx, `SELECT time, peer, kind, detail, previous, offending FROM witness_alarms ORDER BY id`))
}
