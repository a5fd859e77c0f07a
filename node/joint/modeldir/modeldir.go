// Package modeldir is a joint model's directory at the guest, as a training
// run writes it and scoring reads it: model.json (the guest's part of the
// model and the run's aggregate figures) and report.html (ROC curve, AUC, KS,
// the IV and leakage tables). Host weights stay with the hosts: in files
// hosts/NAME.json in the in-process mode, in each host node's store between
// nodes.
//
// The CLI ("creditnode joint run|score") and the node's internal API (which
// keeps its models under the node directory, joint/models/JOB) both use it,
// so a model trained one way is scored the other.
package modeldir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/creditexchange/node/node/atomicfile"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/report"
)

// Modes of a model file.
const (
	ModeLocal   = "local"   // every party in one process (joint run --hosts NAME=FILE)
	ModeNetwork = "network" // hosts are nodes (joint run --dir, or the internal API)
)

// Names of the files in a model directory.
const (
	ModelFile  = "model.json"
	ReportFile = "report.html"
)

// File is model.json.
type File struct {
	Model        *joint.Model      `json:"model"`
	Guest        string            `json:"guest"`
	Mode         string            `json:"mode,omitempty"` // ModeLocal (or empty, before modes) or ModeNetwork
	Intersection int               `json:"intersection"`
	Train        int               `json:"train"`
	Test         int               `json:"test"`
	TestAUC      float64           `json:"test_auc"`
	TestKS       float64           `json:"test_ks"`
	IV           []joint.FeatureIV `json:"iv"`
	// HostCategories are, in the network mode, the categories each host's
	// part of the job uses: an applicant's consent must cover them.
	HostCategories map[string][]string `json:"host_categories,omitempty"`
}

// Run is a finished training run.
type Run struct {
	Job            string
	Guest          string
	Mode           string
	Hosts          []string
	HostCategories map[string][]string
	Result         *joint.Result
	Took           time.Duration
}

// File is the run's model.json.
func (o *Run) File() File {
	res := o.Result
	return File{Model: res.Model, Guest: o.Guest, Mode: o.Mode, Intersection: res.Intersection, Train: res.Train,
		Test: res.Test, TestAUC: res.TestAUC, TestKS: res.TestKS, IV: res.IV, HostCategories: o.HostCategories}
}

// Write writes dir/model.json and dir/report.html, each replaced whole.
func (o *Run) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := WriteJSON(filepath.Join(dir, ModelFile), o.File()); err != nil {
		return err
	}
	res := o.Result
	fpr, tpr := joint.ROC(res.TestLabels, res.TestScores)
	var html bytes.Buffer
	if err := report.WriteHTML(&html, &report.Report{Job: o.Job, Generated: time.Now(), Guest: o.Guest, Hosts: o.Hosts,
		Intersection: res.Intersection, Train: res.Train, Test: res.Test, AUC: res.TestAUC, KS: res.TestKS,
		FPR: fpr, TPR: tpr, IV: res.IV, Duration: o.Took}); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ReportFile), html.Bytes(), 0o600)
}

// ErrNotAModel is returned by Read for a directory without a model file.
var ErrNotAModel = errors.New("not a joint model")

// Read reads dir/model.json and checks that it was written in mode.
func Read(dir, mode string) (*File, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ModelFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (no %s)", dir, ErrNotAModel, ModelFile)
	}
	if err != nil {
		return nil, err
	}
	var mf File
	if err := json.Unmarshal(raw, &mf); err != nil || mf.Model == nil {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotAModel)
	}
	got := mf.Mode
	if got == "" {
		got = ModeLocal
	}
	switch {
	case got == mode:
		return &mf, nil
	case got == ModeNetwork:
		return nil, fmt.Errorf("%s: the model was trained between nodes (job %s): score it with --dir", dir, mf.Model.Job)
	default:
		return nil, fmt.Errorf("%s: the model was trained in process: score it with --hosts NAME=FILE, without --dir", dir)
	}
}

// Scorer is a guest that scores applicant with m from d, the guest's table:
// it must have the applicant's row and the model's features in the model's
// order. d's labels may be absent (a new applicant has none).
func Scorer(d *joint.Dataset, m *joint.Model, applicant string) (*joint.Guest, error) {
	if !slices.Equal(d.Features, m.Features) {
		return nil, fmt.Errorf("features %v, the model's are %v", d.Features, m.Features)
	}
	if !slices.Contains(d.IDs, applicant) {
		return nil, fmt.Errorf("no row for applicant %s", applicant)
	}
	if d.Labels == nil {
		d.Labels = make([]int, len(d.IDs)) // joint.NewGuest wants labels; scoring never reads them
	}
	return joint.NewGuest(d, joint.GuestOptions{})
}

// WriteJSON writes v, indented, to path, replacing it whole.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}
