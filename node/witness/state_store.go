package witness

import (
	"context"
	"errors"

	"github.com/creditexchange/node/node/store"
)

// WitnessStore is the node store's witness tables (a *store.SQLite,
// migration 0008).
type WitnessStore interface {
	WitnessRecord(ctx context.Context, peer string) (store.WitnessRecord, error)
	SaveWitnessRecord(ctx context.Context, r store.WitnessRecord) error
	AddWitnessAlarm(ctx context.Context, a store.WitnessAlarm) error
	WitnessAlarms(ctx context.Context) ([]store.WitnessAlarm, error)
}

// StoreState keeps witness state in the node's database, which refuses to
// move a peer's record backwards (store.ErrWitnessRollback).
type StoreState struct{ S WitnessStore }

var (
	_ State = StoreState{}
	_ State = (*FileState)(nil)
)

// Last returns peer's latest record or ErrNoRecord.
func (s StoreState) Last(ctx context.Context, peer string) (Record, error) {
	r, err := s.S.WitnessRecord(ctx, peer)
	if errors.Is(err, store.ErrNotFound) {
		return Record{}, ErrNoRecord
	}
	if err != nil {
		return Record{}, err
	}
	return Record{Peer: r.Peer, Size: r.Size, Root: r.Root, MapRoot: r.MapRoot, VRFKey: r.VRFKey, Cosigned: r.Cosigned, SeenAt: r.SeenAt}, nil
}

// Save stores r durably.
func (s StoreState) Save(ctx context.Context, r Record) error {
	return s.S.SaveWitnessRecord(ctx, store.WitnessRecord{Peer: r.Peer, Size: r.Size, Root: r.Root, MapRoot: r.MapRoot, VRFKey: r.VRFKey, Cosigned: r.Cosigned, SeenAt: r.SeenAt})
}

// AddAlarm appends a durably.
func (s StoreState) AddAlarm(ctx context.Context, a Alarm) error {
	return s.S.AddWitnessAlarm(ctx, store.WitnessAlarm{Time: a.Time, Peer: a.Peer, Kind: a.Kind, Detail: a.Detail, Previous: a.Previous, Offending: a.Offending})
}

// Alarms returns every alarm, oldest first.
func (s StoreState) Alarms(ctx context.Context) ([]Alarm, error) {
	as, err := s.S.WitnessAlarms(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Alarm, len(as))
	for i, a := range as {
		out[i] = Alarm{Time: a.Time, Peer: a.Peer, Kind: a.Kind, Detail: a.Detail, Previous: a.Previous, Offending: a.Offending}
	}
	return out, nil
}
