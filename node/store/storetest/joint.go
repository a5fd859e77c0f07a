package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/creditexchange/node/node/store"
)

// JointBackend is the store as joint modelling hosts (node/joint/remote) use
// it.
type JointBackend interface {
	Close() error
	CreateJointJob(ctx context.Context, j store.JointJob) error
	JointJob(ctx context.Context, guest, id string) (store.JointJob, error)
	UpdateJointJob(ctx context.Context, guest, id, state string, session []byte, now time.Time) error
}

// RunJoint runs the joint-job suite: a job is created once per (guest, id),
// read back with its terms, updated, and survives reopening the database.
func RunJoint[B JointBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	runSuite(t, newDB, []suiteCase[func(context.Context) (B, error)]{
		{"JobLifecycle", testJointJobs[B]},
	})
}

func testJointJobs[B JointBackend](t *testing.T, o func(context.Context) (B, error)) {
	ctx := t.Context()
	s, err := o(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 5)
	j := store.JointJob{ID: "j1", Guest: "bank-a", Categories: []string{"tax_payment"}, Label: "dpd90", Cohort: 100,
		Hosts: []string{"tax-dept"}, State: "proposed", DecisionID: "d1", PolicyRevision: "r1", Created: now}
	if err := s.CreateJointJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJointJob(ctx, j); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("duplicate: %v", err)
	}
	other := j
	other.Guest = "bank-b"
	if err := s.CreateJointJob(ctx, other); err != nil {
		t.Fatalf("same id, other guest: %v", err)
	}
	if _, err := s.JointJob(ctx, "bank-c", "j1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown guest: %v", err)
	}
	if err := s.UpdateJointJob(ctx, "bank-c", "j1", "aligned", nil, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	if err := s.UpdateJointJob(ctx, "bank-a", "j1", "aligned", []byte(`{"stage":1}`), now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openWith(t, o)
	got, err := s.JointJob(ctx, "bank-a", "j1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "aligned" || string(got.Session) != `{"stage":1}` || got.Label != "dpd90" || got.Cohort != 100 ||
		!slices.Equal(got.Categories, j.Categories) || !slices.Equal(got.Hosts, j.Hosts) || got.DecisionID != "d1" ||
		!got.Created.Equal(now) || !got.Updated.Equal(now.Add(time.Second)) {
		t.Fatalf("read back %+v", got)
	}
	if err := s.UpdateJointJob(ctx, "bank-a", "j1", "cancelled", nil, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.JointJob(ctx, "bank-a", "j1"); got.Session != nil || got.State != "cancelled" {
		t.Fatalf("cancelled job keeps its session: %+v", got)
	}
}
