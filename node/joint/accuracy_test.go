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

// TestAccuracyMiniBatch: mini-batch gradient descent (TrainParams.BatchSize, GuestOptions.Epochs)
// reaches the pooled model's AUC too, on the breast data, the SME data and a wider SME
// federation shaped like the 30k-row benchmark (10 bank + 10 department features).
func TestAccuracyMiniBatch(t *testing.T) {
	wide := GenerateSME(SynthOptions{Members: 2500, GuestFeatures: 10, HostFeatures: []int{10}, Seed: 11, Coverage: 1})
	sme := GenerateSME(SynthOptions{Members: 1000, GuestFeatures: 4, HostFeatures: []int{6}, Seed: 7})
	for _, tc := range []struct {
		name   string
		guest  *Dataset
		hosts  []*Dataset
		batch  int
		epochs int
	}{
		{"breast", readCSV(t, "testdata/breast_hetero_guest.csv", "y"), []*Dataset{readCSV(t, "testdata/breast_hetero_host.csv", "")}, 64, 5},
		{"sme", sme.Guest, sme.Hosts, 100, 6},
		{"sme-wide", wide.Guest, wide.Hosts, 200, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc, res := compare(t, tc.guest, tc.hosts, GuestOptions{
				MinCohort: 50, Key: testKey(t), Epochs: tc.epochs, SplitSeed: 1,
				Params: TrainParams{MaxBins: 10, LearningRate: 0.5, L2: 0.01, BatchSize: tc.batch},
			})
			t.Logf("%s: train %d in batches of %d, %d epochs; test AUC joint %.4f pooled %.4f guest-only %.4f",
				tc.name, res.Train, tc.batch, tc.epochs, acc.joint, acc.pooled, acc.guestOnly)
			if math.Abs(acc.joint-acc.pooled) > 0.01 {
				t.Errorf("joint AUC %.4f not within 0.01 of pooled %.4f", acc.joint, acc.pooled)
			}
		})
	}
}
