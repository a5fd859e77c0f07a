package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/report"
)

// Modes of a joint model file.
const (
	jointModeLocal   = "local"   // every party in one process (joint run --hosts NAME=FILE)
	jointModeNetwork = "network" // hosts are nodes (joint run --dir)
)

// jointModelFile is what "joint run" writes as model.json: the guest's part of the model and
// the run's aggregate figures. Host weights stay with the hosts: in files hosts/NAME.json in
// the local mode, in each host node's store in the network mode.
type jointModelFile struct {
	Model        *joint.Model      `json:"model"`
	Guest        string            `json:"guest"`
	Mode         string            `json:"mode,omitempty"` // jointModeLocal (or empty, before modes) or jointModeNetwork
	Intersection int               `json:"intersection"`
	Train        int               `json:"train"`
	Test         int               `json:"test"`
	TestAUC      float64           `json:"test_auc"`
	TestKS       float64           `json:"test_ks"`
	IV           []joint.FeatureIV `json:"iv"`
	// HostCategories are, in the network mode, the categories each host's part of the job
	// uses: an applicant's consent must cover them.
	HostCategories map[string][]string `json:"host_categories,omitempty"`
}

// jointRunOutput is a finished training run, as both modes of "joint run" write it.
type jointRunOutput struct {
	Job            string
	Guest          string
	Mode           string
	Hosts          []string
	HostCategories map[string][]string
	Result         *joint.Result
	Took           time.Duration
}

// write writes dir/model.json and dir/report.html (ROC curve, AUC, KS, IV and leakage tables).
func (o *jointRunOutput) write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	res := o.Result
	mf := jointModelFile{Model: res.Model, Guest: o.Guest, Mode: o.Mode, Intersection: res.Intersection, Train: res.Train,
		Test: res.Test, TestAUC: res.TestAUC, TestKS: res.TestKS, IV: res.IV, HostCategories: o.HostCategories}
	if err := writeJSONFile(filepath.Join(dir, "model.json"), mf); err != nil {
		return err
	}
	fpr, tpr := joint.ROC(res.TestLabels, res.TestScores)
	f, err := os.OpenFile(filepath.Join(dir, "report.html"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = report.WriteHTML(f, &report.Report{Job: o.Job, Generated: time.Now(), Guest: o.Guest, Hosts: o.Hosts,
		Intersection: res.Intersection, Train: res.Train, Test: res.Test, AUC: res.TestAUC, KS: res.TestKS,
		FPR: fpr, TPR: tpr, IV: res.IV, Duration: o.Took})
	return errors.Join(err, f.Close())
}

// summary is the run's closing lines on stdout.
func (o *jointRunOutput) summary(w io.Writer, dir string) {
	r := o.Result
	fmt.Fprintf(w, "job %s: intersection %d (train %d, test %d); test AUC %.4f, KS %.4f; %s\nwrote %s\n",
		o.Job, r.Intersection, r.Train, r.Test, r.TestAUC, r.TestKS, o.Took.Round(time.Millisecond), dir)
}

// readJointModel reads dir/model.json and checks that it was written in mode.
func readJointModel(dir, mode string) (*jointModelFile, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, err
	}
	var mf jointModelFile
	if err := json.Unmarshal(raw, &mf); err != nil || mf.Model == nil {
		return nil, fmt.Errorf("%s: not a joint model", dir)
	}
	got := mf.Mode
	if got == "" {
		got = jointModeLocal
	}
	switch {
	case got == mode:
		return &mf, nil
	case got == jointModeNetwork:
		return nil, fmt.Errorf("%s: the model was trained between nodes (job %s): score it with --dir", dir, mf.Model.Job)
	default:
		return nil, fmt.Errorf("%s: the model was trained in process: score it with --hosts NAME=FILE, without --dir", dir)
	}
}

// jointScorer reads the guest's table for scoring applicant: it must have the applicant's row
// and the model's features in the model's order. The label column may be absent (a new
// applicant has none).
func jointScorer(path, label string, m *joint.Model, applicant string) (*joint.Guest, error) {
	d, err := readDataset(path, labelIfPresent(path, label))
	if err != nil {
		return nil, err
	}
	if !slices.Equal(d.Features, m.Features) {
		return nil, fmt.Errorf("%s: features %v, the model's are %v", path, d.Features, m.Features)
	}
	if !slices.Contains(d.IDs, applicant) {
		return nil, fmt.Errorf("%s: no row for applicant %s", path, applicant)
	}
	if d.Labels == nil {
		d.Labels = make([]int, len(d.IDs)) // joint.NewGuest wants labels; scoring never reads them
	}
	return joint.NewGuest(d, joint.GuestOptions{})
}

// labelIfPresent returns label if the CSV's header has that column, else "".
func labelIfPresent(path, label string) string {
	f, err := os.Open(path)
	if err != nil {
		return label // readDataset reports the error
	}
	defer f.Close()
	head, err := csv.NewReader(f).Read()
	if err != nil || len(head) < 2 || !slices.Contains(head[1:], label) {
		return ""
	}
	return label
}

func readDataset(path, label string) (*joint.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := joint.ReadCSV(f, label)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
