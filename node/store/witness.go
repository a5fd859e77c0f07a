package store

import (
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

// The witness logic both backends share: the argument check and the row
// scans. Each backend keeps its SQL text and its transaction.

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
