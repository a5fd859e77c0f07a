package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/creditexchange/node/node/store"
)

// WitnessBackend is the store as a witness (node/witness) uses it.
type WitnessBackend interface {
	Close() error
	WitnessRecord(ctx context.Context, peer string) (store.WitnessRecord, error)
	SaveWitnessRecord(ctx context.Context, r store.WitnessRecord) error
	AddWitnessAlarm(ctx context.Context, a store.WitnessAlarm) error
	WitnessAlarms(ctx context.Context) ([]store.WitnessAlarm, error)
}

// RunWitness runs the witness-state suite.
func RunWitness[B WitnessBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	runSuite(t, newDB, []suiteCase[func(context.Context) (B, error)]{
		{"RecordOnlyMovesForward", testWitnessRecord[B]},
		{"AlarmsKept", testWitnessAlarms[B]},
	})
}

func testWitnessRecord[B WitnessBackend](t *testing.T, o func(context.Context) (B, error)) {
	s := openWith(t, o)
	ctx := t.Context()
	if _, err := s.WitnessRecord(ctx, "tax-dept"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	h := bytes.Repeat([]byte{1}, 32)
	r := store.WitnessRecord{Peer: "tax-dept", Size: 5, Root: h, MapRoot: h, VRFKey: h, Cosigned: []byte("note"), SeenAt: time.Unix(10, 0).UTC()}
	if err := s.SaveWitnessRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Size = 7
	if err := s.SaveWitnessRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Size = 6 // backwards: refused, the stored record stays at 7
	if err := s.SaveWitnessRecord(ctx, r); !errors.Is(err, store.ErrWitnessRollback) {
		t.Fatalf("got %v", err)
	}
	got, err := s.WitnessRecord(ctx, "tax-dept")
	if err != nil || got.Size != 7 || !got.SeenAt.Equal(r.SeenAt) || !bytes.Equal(got.Cosigned, r.Cosigned) {
		t.Fatalf("%+v %v", got, err)
	}
	if err := s.SaveWitnessRecord(ctx, store.WitnessRecord{Peer: "x", Root: h[:31], MapRoot: h, VRFKey: h, Cosigned: []byte("n")}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("short root: %v", err)
	}
}

func testWitnessAlarms[B WitnessBackend](t *testing.T, o func(context.Context) (B, error)) {
	s := openWith(t, o)
	ctx := t.Context()
	if as, err := s.WitnessAlarms(ctx); err != nil || as == nil || len(as) != 0 {
		t.Fatalf("no alarms: %#v %v, want an empty list", as, err)
	}
	var want []store.WitnessAlarm
	for i := range 3 {
		a := store.WitnessAlarm{Time: time.Unix(int64(20+i), 0).UTC(), Peer: "tax-dept", Kind: "split_view", Detail: fmt.Sprint("d", i), Previous: "p", Offending: "o"}
		if err := s.AddWitnessAlarm(ctx, a); err != nil {
			t.Fatal(err)
		}
		want = append(want, a)
	}
	as, err := s.WitnessAlarms(ctx)
	if err != nil || !slices.Equal(as, want) {
		t.Fatalf("%+v %v", as, err)
	}
}
