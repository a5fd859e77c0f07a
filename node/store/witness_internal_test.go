package store

import (
	"context"
	"testing"
	"time"
)

// Alarms are evidence: on both backends the database itself (a trigger)
// refuses to erase them. The witness API is in storetest.RunWitness.

func TestWitnessAlarmsNotErased(t *testing.T) {
	s, _ := openTest(t)
	testAlarmsNotErased(t, &s.ops, func(ctx context.Context) error {
		_, err := s.w.ExecContext(ctx, `DELETE FROM witness_alarms`)
		return err
	})
}

func TestPostgresWitnessAlarmsNotErased(t *testing.T) {
	s, _ := openPGTest(t, "witness")
	testAlarmsNotErased(t, &s.ops, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM witness_alarms`)
		return err
	})
}

func testAlarmsNotErased(t *testing.T, s *ops, deleteAlarms func(context.Context) error) {
	ctx := t.Context()
	a := WitnessAlarm{Time: time.Unix(20, 0).UTC(), Peer: "tax-dept", Kind: "split_view", Detail: "d", Previous: "p", Offending: "o"}
	if err := s.AddWitnessAlarm(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := deleteAlarms(ctx); err == nil {
		t.Fatal("alarm deleted")
	}
	if as, err := s.WitnessAlarms(ctx); err != nil || len(as) != 1 || as[0] != a {
		t.Fatalf("%+v %v", as, err)
	}
}
