package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/modeldir"
)

// summary is a finished run's closing lines on stdout.
func summary(w io.Writer, o *modeldir.Run, dir string) {
	r := o.Result
	fmt.Fprintf(w, "job %s: intersection %d (train %d, test %d); test AUC %.4f, KS %.4f; %s\nwrote %s\n",
		o.Job, r.Intersection, r.Train, r.Test, r.TestAUC, r.TestKS, o.Took.Round(time.Millisecond), dir)
}

// jointScorer reads the guest's table for scoring applicant (modeldir.Scorer). The label
// column may be absent (a new applicant has none).
func jointScorer(path, label string, m *joint.Model, applicant string) (*joint.Guest, error) {
	d, err := readDataset(path, labelIfPresent(path, label))
	if err != nil {
		return nil, err
	}
	g, err := modeldir.Scorer(d, m, applicant)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
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
