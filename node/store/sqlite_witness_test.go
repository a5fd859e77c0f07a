package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// witnessStore is the witness tables' API on both backends.
type witnessStore interface {
	WitnessRecord(ctx context.Context, peer string) (WitnessRecord, error)
	SaveWitnessRecord(ctx context.Context, r WitnessRecord) error
	AddWitnessAlarm(ctx context.Context, a WitnessAlarm) error
	WitnessAlarms(ctx context.Context) ([]WitnessAlarm, error)
}

func TestWitnessState(t *testing.T) {
	s, _ := openTest(t)
	testWitnessState(t, s, func(ctx context.Context) error {
		_, err := s.w.ExecContext(ctx, `DELETE FROM witness_alarms`)
		return err
	})
}

func TestPostgresWitnessState(t *testing.T) {
	s, _ := openPGTest(t, "witness")
	testWitnessState(t, s, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM witness_alarms`)
		return err
	})
}

func testWitnessState(t *testing.T, s witnessStore, deleteAlarms func(context.Context) error) {
	ctx := context.Background()
	if _, err := s.WitnessRecord(ctx, "tax-dept"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	h := bytes.Repeat([]byte{1}, 32)
	r := WitnessRecord{Peer: "tax-dept", Size: 5, Root: h, MapRoot: h, VRFKey: h, Cosigned: []byte("note"), SeenAt: time.Unix(10, 0).UTC()}
	if err := s.SaveWitnessRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Size = 7
	if err := s.SaveWitnessRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Size = 6 // backwards: refused, the stored record stays at 7
	if err := s.SaveWitnessRecord(ctx, r); !errors.Is(err, ErrWitnessRollback) {
		t.Fatalf("got %v", err)
	}
	got, err := s.WitnessRecord(ctx, "tax-dept")
	if err != nil || got.Size != 7 || !got.SeenAt.Equal(r.SeenAt) {
		t.Fatalf("%+v %v", got, err)
	}
	if err := s.SaveWitnessRecord(ctx, WitnessRecord{Peer: "x", Root: h[:31], MapRoot: h, VRFKey: h, Cosigned: []byte("n")}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short root: %v", err)
	}
	a := WitnessAlarm{Time: time.Unix(20, 0).UTC(), Peer: "tax-dept", Kind: "split_view", Detail: "d", Previous: "p", Offending: "o"}
	if err := s.AddWitnessAlarm(ctx, a); err != nil {
		t.Fatal(err)
	}
	as, err := s.WitnessAlarms(ctx)
	if err != nil || len(as) != 1 || as[0] != a {
		t.Fatalf("%+v %v", as, err)
	}
	// Alarms are evidence: the database refuses to erase them.
	if err := deleteAlarms(ctx); err == nil {
		t.Fatal("alarm deleted")
	}
}
