package joint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
)

// restartingHost answers each message with a host rebuilt from the previous one's exported
// session, as a host node does after a restart (node/joint/remote).
type restartingHost struct {
	t    *testing.T
	data *Dataset
	h    *Host
	job  string
}

func (r *restartingHost) Handle(ctx context.Context, m Message) (Message, error) {
	out, err := r.h.Handle(ctx, m)
	if err != nil {
		return nil, err
	}
	st, err := r.h.Session(r.job)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(st) // through its stored form
	if err != nil {
		return nil, err
	}
	var back SessionState
	if err := json.Unmarshal(b, &back); err != nil {
		return nil, err
	}
	fresh, err := NewHost(r.data, testHostOptions())
	if err != nil {
		return nil, err
	}
	if err := fresh.Restore(r.job, &back); err != nil {
		r.t.Fatalf("restore after %s: %v", m.Kind(), err)
	}
	r.h = fresh
	return out, nil
}

// TestSessionRestoreEveryStep: a job whose host is rebuilt from its exported state after every
// message (alignment, cohort, binning, each partial, gradient and unmasking) trains the same
// model as one that is not.
func TestSessionRestoreEveryStep(t *testing.T) {
	for _, batch := range []int{0, 60} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { testSessionRestoreEveryStep(t, batch) })
	}
}

func testSessionRestoreEveryStep(t *testing.T, batch int) {
	syn := GenerateSME(SynthOptions{Members: 300, GuestFeatures: 3, HostFeatures: []int{3}, Seed: 3})
	key := testKey(t)
	opts := GuestOptions{MinCohort: 50, Iterations: 3, Key: key, SplitSeed: 9,
		Params: TrainParams{MaxBins: 10, LearningRate: 0.5, BatchSize: batch}}
	run := func(h Handler) *Result {
		g, err := NewGuest(syn.Guest, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.Train(context.Background(), "j", []HostLink{{Name: "h", Conn: &LocalConn{Host: h}}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	plain, err := NewHost(syn.Hosts[0], testHostOptions())
	if err != nil {
		t.Fatal(err)
	}
	first, err := NewHost(syn.Hosts[0], testHostOptions())
	if err != nil {
		t.Fatal(err)
	}
	a := run(plain)
	b := run(&restartingHost{t: t, data: syn.Hosts[0], h: first, job: "j"})
	if math.Abs(a.TestAUC-b.TestAUC) > 1e-9 || len(a.Model.Weights) != len(b.Model.Weights) {
		t.Fatalf("AUC %.6f without restarts, %.6f with", a.TestAUC, b.TestAUC)
	}
	for j := range a.Model.Weights {
		if math.Abs(a.Model.Weights[j]-b.Model.Weights[j]) > 1e-9 {
			t.Fatalf("guest weight %d: %g vs %g", j, a.Model.Weights[j], b.Model.Weights[j])
		}
	}
}

// TestSessionRestoreRejects: a state that does not fit the host's data is refused.
func TestSessionRestoreRejects(t *testing.T) {
	syn := GenerateSME(SynthOptions{Members: 120, GuestFeatures: 2, HostFeatures: []int{2}, Seed: 4})
	h, err := NewHost(syn.Hosts[0], testHostOptions())
	if err != nil {
		t.Fatal(err)
	}
	el := "00" // one byte, not an element
	for name, st := range map[string]*SessionState{
		"nil stage":      {Elements: map[string]string{}},
		"unknown id":     {Stage: int(stageAligned), Elements: map[string]string{"aa": "nobody"}},
		"short element":  {Stage: int(stageAligned), Elements: map[string]string{el: syn.Hosts[0].IDs[0]}},
		"features":       {Stage: int(stageCohort), Elements: map[string]string{}, Cohort: syn.Hosts[0].IDs[:1], Mean: []float64{0}, Std: []float64{1}, Weights: []float64{0}},
		"zero deviation": {Stage: int(stageCohort), Elements: map[string]string{}, Cohort: syn.Hosts[0].IDs[:1], Mean: []float64{0, 0}, Std: []float64{1, 0}, Weights: []float64{0, 0}},
	} {
		if err := h.Restore("j", st); !errors.Is(err, ErrData) {
			t.Errorf("%s: %v, want ErrData", name, err)
		}
	}
}
