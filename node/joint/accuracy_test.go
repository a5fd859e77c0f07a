package joint

import (
	"math"
	"testing"
)

func TestAccuracyBreast(t *testing.T) {
	guest := readCSV(t, "testdata/breast_hetero_guest.csv", "y")
	host := readCSV(t, "testdata/breast_hetero_host.csv", "")
	acc, res := compare(t, guest, []*Dataset{host}, GuestOptions{
		MinCohort: 50, Key: testKey(t), Iterations: 30, SplitSeed: 1,
		Params: TrainParams{MaxBins: 10, LearningRate: 0.5, L2: 0.01},
	})
	t.Logf("breast: intersection %d, train %d, test %d; test AUC joint %.4f pooled %.4f guest-only %.4f; KS %.4f",
		res.Intersection, res.Train, res.Test, acc.joint, acc.pooled, acc.guestOnly, res.TestKS)
	if math.Abs(acc.joint-acc.pooled) > 0.01 {
		t.Errorf("joint AUC %.4f not within 0.01 of pooled %.4f", acc.joint, acc.pooled)
	}
}

func TestAccuracySME(t *testing.T) {
	s := GenerateSME(SynthOptions{Members: 1000, GuestFeatures: 4, HostFeatures: []int{6}, Seed: 7})
	acc, res := compare(t, s.Guest, s.Hosts, GuestOptions{
		MinCohort: 50, Key: testKey(t), Iterations: 30, SplitSeed: 1,
		Params: TrainParams{MaxBins: 10, LearningRate: 0.5, L2: 0.01},
	})
	t.Logf("sme: intersection %d, train %d, test %d; test AUC joint %.4f pooled %.4f guest-only %.4f; KS %.4f",
		res.Intersection, res.Train, res.Test, acc.joint, acc.pooled, acc.guestOnly, res.TestKS)
	if math.Abs(acc.joint-acc.pooled) > 0.01 {
		t.Errorf("joint AUC %.4f not within 0.01 of pooled %.4f", acc.joint, acc.pooled)
	}
	if acc.pooled <= acc.guestOnly {
		t.Errorf("host features should help: pooled %.4f, guest only %.4f", acc.pooled, acc.guestOnly)
	}
}
