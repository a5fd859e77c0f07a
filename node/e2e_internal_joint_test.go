package node_test

import (
	"bytes"
	"crypto/tls"
	"encoding/csv"
	"strconv"
	"testing"
	"time"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/schemas"
)

// guestCSV is d as the CSV a bank's analyst sends: id, y, features.
func guestCSV(t *testing.T, d *joint.Dataset) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(append([]string{"id", "y"}, d.Features...))
	for i, id := range d.IDs {
		row := []string{id, strconv.Itoa(d.Labels[i])}
		for _, v := range d.X[i] {
			row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A bank's risk system runs a joint modelling job through its node's internal
// API holding only its client certificate: the node trains with tax-dept,
// keeps the model, serves it and its report, and scores an applicant under the
// applicant's consent. Every exchange is checked against the OpenAPI document.
func TestInternalAPIJointJob(t *testing.T) {
	issued := map[string]tls.Certificate{}
	jf := startJointFed(t, withInternalAPI(t, map[string]internalapi.AddOptions{
		"risk-lab":    {Operations: []string{internalapi.OpJoint}, Purposes: []string{remote.PurposeJointModeling}},
		"loan-system": {Operations: []string{internalapi.OpQuery}, Purposes: []string{"loan_approval"}},
	}, issued))
	lab := jf.internalClient(t, issued["risk-lab"])
	const staff = "analyst-4"
	req := internalapi.JointTrainRequest{Job: "job-lab-1", Hosts: []string{"tax-dept"},
		Categories: map[string][]string{"tax-dept": {"tax_payment"}}, LabelDefinition: "90 days past due within 12 months",
		Data: guestCSV(t, jf.guest), Options: internalapi.JointTrainOptions{Iterations: 5, MaxBins: 5, MinCohort: 20, InsecureKeyBits: 512}}

	// Bad requests: a stable code each, and no job.
	for name, c := range map[string]struct {
		mutate func(*internalapi.JointTrainRequest)
		key    string
		want   schemas.Code
	}{
		"no idempotency key": {func(*internalapi.JointTrainRequest) {}, "", schemas.CodeIdempotencyKeyMissing},
		"job id as a path":   {func(r *internalapi.JointTrainRequest) { r.Job = "../x" }, "k1", schemas.CodeMalformedRequest},
		"category of no host": {func(r *internalapi.JointTrainRequest) {
			r.Categories = map[string][]string{"market-reg": {"tax_payment"}}
		}, "k2", schemas.CodeMalformedRequest},
		"unknown category": {func(r *internalapi.JointTrainRequest) {
			r.Categories = map[string][]string{"tax-dept": {"tax_paymnet"}}
		}, "k3", schemas.CodeMalformedRequest},
		"no label definition": {func(r *internalapi.JointTrainRequest) { r.LabelDefinition = " " }, "k4", schemas.CodeMalformedRequest},
		"rows without USCCs":  {func(r *internalapi.JointTrainRequest) { r.Data = "id,y,a\nSME1,1,0.5\n" }, "k5", schemas.CodeMalformedRequest},
	} {
		r := req
		r.Categories = map[string][]string{"tax-dept": {"tax_payment"}}
		c.mutate(&r)
		if s, code := lab.call("POST", "/internal/v1/joint/jobs", staff, "", c.key, r, nil); code != c.want {
			t.Errorf("%s: %d %s, want %s", name, s, code, c.want)
		}
	}
	if _, code := jf.internalClient(t, issued["loan-system"]).call("POST", "/internal/v1/joint/jobs", staff, "", "k7", req, nil); code != schemas.CodeClientNotPermitted {
		t.Fatalf("a client without the joint operation: %s", code)
	}

	var job internalapi.Job
	if s, code := lab.call("POST", "/internal/v1/joint/jobs", staff, "", "train-1", req, &job); s != 200 {
		t.Fatalf("start: %d %s", s, code)
	}
	if job.State != internalapi.JobRunning || job.Joint == nil || job.Joint.Job != "job-lab-1" || job.Joint.Iterations != 5 {
		t.Fatalf("started job: %+v", job)
	}
	other := req
	other.LabelDefinition = "something else"
	if _, code := lab.call("POST", "/internal/v1/joint/jobs", staff, "", "train-1", other, nil); code != schemas.CodeIdempotencyConflict {
		t.Fatalf("same key, other body: %s", code)
	}
	var again internalapi.Job
	if lab.call("POST", "/internal/v1/joint/jobs", staff, "", "train-1", req, &again); again.ID != job.ID {
		t.Fatalf("a retry started another job: %s, first %s", again.ID, job.ID)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for job.State == internalapi.JobRunning && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if s, code := lab.call("GET", "/internal/v1/jobs/"+job.ID, staff, "", "", nil, &job); s != 200 {
			t.Fatalf("status: %d %s", s, code)
		}
	}
	if job.State != internalapi.JobDone || job.Joint.Intersection == 0 || job.Joint.TestAUC <= 0.5 {
		t.Fatalf("finished job: %+v (joint %+v)", job, job.Joint)
	}
	// The job id now has a model: it cannot be run again.
	if _, code := lab.call("POST", "/internal/v1/joint/jobs", staff, "", "train-2", req, nil); code != schemas.CodeJobState {
		t.Fatalf("a second job with the same id: %s", code)
	}

	var model struct {
		Model struct {
			Job      string   `json:"job"`
			Features []string `json:"features"`
			Hosts    []string `json:"hosts"`
		} `json:"model"`
		Guest   string  `json:"guest"`
		Mode    string  `json:"mode"`
		TestAUC float64 `json:"test_auc"`
	}
	if s, code := lab.call("GET", "/internal/v1/joint/models/job-lab-1", staff, "", "", nil, &model); s != 200 {
		t.Fatalf("model: %d %s", s, code)
	}
	if model.Model.Job != "job-lab-1" || model.Guest != "bank-a" || model.Mode != "network" || model.TestAUC != job.Joint.TestAUC {
		t.Fatalf("model: %+v", model)
	}
	if s, code := lab.call("GET", "/internal/v1/joint/models/job-lab-1/report", staff, "", "", nil, nil); s != 200 {
		t.Fatalf("report: %d %s", s, code)
	}
	if _, code := lab.call("GET", "/internal/v1/joint/models/job-nobody", staff, "", "", nil, nil); code != schemas.CodeJobUnknown {
		t.Fatalf("model of no job: %s", code)
	}

	// Scoring an applicant: its consent is required and spent at the host.
	applicant := jf.guest.IDs[0]
	features := map[string]float64{}
	for j, f := range jf.guest.Features {
		features[f] = jf.guest.X[0][j]
	}
	subj, err := jf.net.EnrolSubject("market-reg", applicant)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := devnet.GrantConsent(subj, "bank-a", remote.PurposeJointModeling, []string{"tax_payment"}, []string{"tax-dept"}, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	sr := internalapi.JointScoreRequest{Job: "job-lab-1", Applicant: applicant, Features: features, Consents: []string{tok}}
	if _, code := lab.call("POST", "/internal/v1/joint/score", staff, "", "s0", sr, nil); code != schemas.CodeBusinessRefMissing {
		t.Fatalf("score without a business reference: %s", code)
	}
	short := sr
	short.Features = map[string]float64{jf.guest.Features[0]: 1}
	if _, code := lab.call("POST", "/internal/v1/joint/score", staff, "LA-99", "s1", short, nil); code != schemas.CodeMalformedRequest {
		t.Fatalf("score with a missing feature: %s", code)
	}
	var ans internalapi.JointScoreAnswer
	if s, code := lab.call("POST", "/internal/v1/joint/score", staff, "LA-99", "s2", sr, &ans); s != 200 {
		t.Fatalf("score: %d %s", s, code)
	}
	if ans.Applicant != applicant || !(ans.Probability > 0 && ans.Probability < 1) {
		t.Fatalf("score: %+v", ans)
	}
	if _, code := lab.call("POST", "/internal/v1/joint/score", staff, "LA-99", "s3", sr, nil); code != schemas.CodeConsentExhausted {
		t.Fatalf("second score on a one-use consent: %s", code)
	}
}
