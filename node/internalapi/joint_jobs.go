package internalapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/creditexchange/node/crypto/paillier"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/modeldir"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// ModelsDir is where the node keeps the models of the joint jobs it ran as
// the guest through the internal API: ModelsDir/JOB is a model directory
// (node/joint/modeldir), as "creditnode joint run --out" writes one.
const ModelsDir = "joint/models"

// Bounds of a joint job request.
const (
	maxJointData       = 64 << 20 // the guest's CSV
	maxJointCategories = 32       // per host
	maxJointConsents   = 16
	maxLabelDefinition = 500
	maxJointIterations = 100_000 // hosts bound their own (joint/host.json max_iterations)
)

// jointJobID is a job id that is also a folder name.
var jointJobID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// JointTrainRequest is RouteJointJobs's body: a joint modelling job that
// this node proposes to its hosts and runs as the guest, as
// `creditnode joint run --dir` does.
type JointTrainRequest struct {
	// Job is the job's id (default: a fresh one): letters, digits, '.',
	// '_' and '-', at most 100, starting with a letter or digit.
	Job   string   `json:"job,omitempty"`
	Hosts []string `json:"hosts"`
	// Categories are the categories each host's part of the job uses, by
	// host; every host needs at least one.
	Categories map[string][]string `json:"categories"`
	// LabelDefinition is what the label means, told to every host.
	LabelDefinition string `json:"label_definition"`
	// Label is the label column of Data (default "y").
	Label string `json:"label,omitempty"`
	// Data is the guest's table as CSV: first column the member's USCC,
	// the label column (0/1), then numeric features.
	Data    string            `json:"data"`
	Options JointTrainOptions `json:"options,omitzero"`
}

// JointTrainOptions tune training; zero is the default of node/joint.
type JointTrainOptions struct {
	Iterations   int     `json:"iterations,omitempty"`
	BatchSize    int     `json:"batch_size,omitempty"`
	MaxBins      int     `json:"max_bins,omitempty"`
	LearningRate float64 `json:"learning_rate,omitempty"`
	L2           float64 `json:"l2,omitempty"`
	TestFraction float64 `json:"test_fraction,omitempty"`
	Seed         uint64  `json:"seed,omitempty"`
	MinCohort    int     `json:"min_cohort,omitempty"`
	// InsecureKeyBits is for tests only: a Paillier modulus below 2048
	// bits, which hosts refuse unless their joint/host.json allows it.
	InsecureKeyBits int `json:"insecure_key_bits,omitempty"`
}

// JointProgress is a joint job's progress, in its Job.
type JointProgress struct {
	Job        string              `json:"job"` // the federation's job id, as hosts know it
	Hosts      []string            `json:"hosts"`
	Categories map[string][]string `json:"categories"`
	Step       string              `json:"step,omitempty"` // the protocol step in progress
	Iteration  int                 `json:"iteration"`
	Iterations int                 `json:"iterations"`
	// Once done: the model's figures (GET RouteJointModel has the model).
	Intersection int     `json:"intersection,omitempty"`
	Train        int     `json:"train,omitempty"`
	Test         int     `json:"test,omitempty"`
	TestAUC      float64 `json:"test_auc,omitempty"`
	TestKS       float64 `json:"test_ks,omitempty"`
}

// jointTrain is a parsed JointTrainRequest.
type jointTrain struct {
	req  JointTrainRequest
	data *joint.Dataset
}

func (s *Server) jointJobsRoute() route[jointTrain] {
	return route[jointTrain]{
		op: OpJoint, spends: true, maxBody: maxJointData + 1<<20,
		parse: func(_ *http.Request, body []byte) (*jointTrain, *schemas.Error) {
			if s.opts.Joint == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node runs no joint modelling through its internal API")
			}
			var q JointTrainRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed joint job")
			}
			if q.Job != "" && !jointJobID.MatchString(q.Job) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "job must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit")
			}
			if len(q.Hosts) == 0 || len(q.Hosts) > maxJointHosts || !schemas.UniqueNames(q.Hosts) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "hosts must list 1 to %d unique member ids", maxJointHosts)
			}
			for h, cats := range q.Categories {
				if !slices.Contains(q.Hosts, h) {
					return nil, schemas.Errorf(schemas.CodeMalformedRequest, "categories names %s, which is not one of hosts", h)
				}
				if len(cats) > maxJointCategories || !schemas.UniqueNames(cats) {
					return nil, schemas.Errorf(schemas.CodeMalformedRequest, "categories of %s must be at most %d unique names", h, maxJointCategories)
				}
				for _, c := range cats {
					if !s.validator.Known(c) {
						return nil, schemas.Errorf(schemas.CodeMalformedRequest, "category %q of %s is not a record category", c, h)
					}
				}
			}
			for _, h := range q.Hosts {
				if len(q.Categories[h]) == 0 {
					return nil, schemas.Errorf(schemas.CodeMalformedRequest, "categories names no category for host %s", h)
				}
			}
			if d := strings.TrimSpace(q.LabelDefinition); d == "" || len(d) > maxLabelDefinition || !printable(d) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "label_definition must be 1 to %d printable characters", maxLabelDefinition)
			}
			if len(q.Data) > maxJointData {
				return nil, schemas.Errorf(schemas.CodeBodyTooLarge, "data is larger than %d bytes", maxJointData)
			}
			o := q.Options
			if o.Iterations < 0 || o.BatchSize < 0 || o.MaxBins < 0 || o.MinCohort < 0 || o.LearningRate < 0 || o.L2 < 0 ||
				o.TestFraction < 0 || o.TestFraction >= 1 || o.InsecureKeyBits < 0 || o.Iterations > maxJointIterations {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "options out of range (iterations at most %d, test_fraction below 1, none negative)", maxJointIterations)
			}
			d, err := joint.ReadCSV(strings.NewReader(q.Data), cmp.Or(q.Label, "y"))
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "data is not a guest table")
			}
			for i, id := range d.IDs {
				subj, _, err := records.NormalizeSubject(id)
				if err != nil {
					return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "data row "+strconv.Itoa(i+2)+": bad subject id")
				}
				d.IDs[i] = subj
			}
			if err := d.Validate(); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "data is not a guest table")
			}
			return &jointTrain{req: q, data: d}, nil
		},
		scope: func(q *jointTrain) (string, []string) { return remote.PurposeJointModeling, q.req.Hosts },
		run: func(_ context.Context, c *call, q *jointTrain) (any, *schemas.Error) {
			q.req.Job = cmp.Or(q.req.Job, remote.NewJobID(s.opts.Clock()))
			if _, err := os.Stat(s.modelDir(q.req.Job)); err == nil {
				return nil, schemas.Errorf(schemas.CodeJobState, "job %s has a model already", q.req.Job)
			}
			job, err := s.jobs.start(c.client.Name, OpJoint, "training", s.opts.Clock())
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "job status cannot be kept")
			}
			s.jobs.update(job, func(j *Job) {
				j.Joint = &JointProgress{Job: q.req.Job, Hosts: q.req.Hosts, Categories: q.req.Categories,
					Iterations: cmp.Or(q.req.Options.Iterations, joint.DefaultIterations)}
			})
			go s.runJointJob(job, q)
			return s.jobs.snapshot(job), nil
		},
	}
}

func (s *Server) modelDir(job string) string {
	return filepath.Join(s.opts.NodeDir, filepath.FromSlash(ModelsDir), job)
}

// runJointJob generates the guest's key, runs the job with its hosts (which
// cancel it at every host if it fails) and keeps the model.
func (s *Server) runJointJob(job *Job, q *jointTrain) {
	ctx := context.Background()
	fail := func(err error) {
		e := schemas.AsError(err, schemas.CodeInternal, "joint job failed")
		s.log.LogAttrs(ctx, slog.LevelWarn, "joint job failed", slog.String("job", job.ID), slog.String("joint_job", q.req.Job),
			slog.String("code", string(e.Code)))
		s.jobs.finish(job, s.opts.Clock(), func(j *Job) { j.State, j.Code, j.Error = JobFailed, e.Code, err.Error() })
	}
	o := q.req.Options
	kopts := paillier.Options{}
	if o.InsecureKeyBits > 0 {
		kopts = paillier.Options{Bits: o.InsecureKeyBits, AllowInsecureSize: true}
	}
	s.jobs.update(job, func(j *Job) { j.Joint.Step = "key" })
	sk, err := paillier.GenerateKey(kopts)
	if err != nil {
		fail(err)
		return
	}
	g, err := joint.NewGuest(q.data, joint.GuestOptions{
		MinCohort: o.MinCohort, Key: sk, Iterations: o.Iterations, TestFraction: o.TestFraction, SplitSeed: o.Seed,
		Params: joint.TrainParams{MaxBins: o.MaxBins, LearningRate: o.LearningRate, L2: o.L2, BatchSize: o.BatchSize},
		Progress: func(step string, iter int) {
			s.jobs.progress(job, func(j *Job) { j.Joint.Step, j.Joint.Iteration = step, iter })
		},
	})
	if err != nil {
		fail(err)
		return
	}
	terms := remote.Terms{ID: q.req.Job, Hosts: q.req.Hosts, Categories: q.req.Categories, Label: q.req.LabelDefinition, Cohort: len(q.data.IDs)}
	start := s.opts.Clock()
	res, err := s.opts.Joint.Run(ctx, g, terms, func(format string, args ...any) {})
	if err != nil {
		fail(err)
		return
	}
	run := &modeldir.Run{Job: terms.ID, Guest: s.opts.ID, Mode: modeldir.ModeNetwork, Hosts: terms.Hosts, HostCategories: terms.Categories,
		Result: res, Took: s.opts.Clock().Sub(start)}
	if err := run.Write(s.modelDir(terms.ID)); err != nil {
		fail(errors.Join(errors.New("the job is done at the hosts, but its model could not be kept"), err))
		return
	}
	s.jobs.finish(job, s.opts.Clock(), func(j *Job) {
		j.State = JobDone
		p := j.Joint
		p.Step, p.Intersection, p.Train, p.Test, p.TestAUC, p.TestKS = "", res.Intersection, res.Train, res.Test, res.TestAUC, res.TestKS
	})
}

// JointModelRequest names a model (RouteJointModel's path).
type JointModelRequest struct{ Job string }

func (s *Server) readModel(job string) (*modeldir.File, *schemas.Error) {
	if !jointJobID.MatchString(job) {
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "bad job id")
	}
	mf, err := modeldir.Read(s.modelDir(job), modeldir.ModeNetwork)
	if errors.Is(err, modeldir.ErrNotAModel) {
		return nil, schemas.Errorf(schemas.CodeJobUnknown, "this node keeps no model of job %s", job)
	}
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "model unreadable")
	}
	return mf, nil
}

// jointModelRoute answers a model's model.json, or with report its HTML
// report.
func (s *Server) jointModelRoute(report bool) route[JointModelRequest] {
	return route[JointModelRequest]{
		op: OpJoint,
		parse: func(r *http.Request, _ []byte) (*JointModelRequest, *schemas.Error) {
			if s.opts.Joint == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node runs no joint modelling through its internal API")
			}
			return &JointModelRequest{Job: r.PathValue("job")}, nil
		},
		scope: noScope[JointModelRequest],
		run: func(_ context.Context, _ *call, q *JointModelRequest) (any, *schemas.Error) {
			mf, e := s.readModel(q.Job)
			if e != nil {
				return nil, e
			}
			if !report {
				return mf, nil
			}
			b, err := os.ReadFile(filepath.Join(s.modelDir(q.Job), modeldir.ReportFile))
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeInternal, err, "report unreadable")
			}
			return rawAnswer{contentType: "text/html; charset=utf-8", body: b}, nil
		},
	}
}

// JointScoreRequest is RouteJointScore's body: score one applicant with a
// model this node trained through the internal API, as
// `creditnode joint score --dir` does.
type JointScoreRequest struct {
	Job       string `json:"job"` // the model's job id
	Applicant string `json:"applicant"`
	// Features are the applicant's guest features, by name: every feature
	// of the model.
	Features map[string]float64 `json:"features"`
	// Consents are the applicant's joint_modeling consents; each host is
	// sent the first that authorises this node there.
	Consents []string `json:"consents"`
}

// JointScoreAnswer is an applicant's probability of default.
type JointScoreAnswer struct {
	Job         string   `json:"job"`
	Applicant   string   `json:"applicant"`
	Probability float64  `json:"probability"`
	Hosts       []string `json:"hosts"` // the hosts that added their partial scores
}

// jointScore is a parsed JointScoreRequest with its model.
type jointScore struct {
	req   JointScoreRequest
	model *modeldir.File
	row   []float64
}

func (s *Server) jointScoreRoute() route[jointScore] {
	return route[jointScore]{
		op: OpJoint, needsRef: true, spends: true,
		parse: func(_ *http.Request, body []byte) (*jointScore, *schemas.Error) {
			if s.opts.Joint == nil {
				return nil, schemas.Errorf(schemas.CodeNotFound, "this node runs no joint modelling through its internal API")
			}
			var q JointScoreRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed scoring request")
			}
			subj, _, err := records.NormalizeSubject(q.Applicant)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad applicant id")
			}
			q.Applicant = subj
			if len(q.Consents) == 0 || len(q.Consents) > maxJointConsents {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "consents must list 1 to %d consent tokens", maxJointConsents)
			}
			mf, e := s.readModel(q.Job)
			if e != nil {
				return nil, e
			}
			if mf.Guest != s.opts.ID {
				return nil, schemas.Errorf(schemas.CodeJobUnknown, "the model of job %s is %s's", q.Job, mf.Guest)
			}
			row := make([]float64, len(mf.Model.Features))
			for i, f := range mf.Model.Features {
				v, ok := q.Features[f]
				if !ok {
					return nil, schemas.Errorf(schemas.CodeMalformedRequest, "features has no %s (the model's features are %s)", f, strings.Join(mf.Model.Features, ", "))
				}
				row[i] = v
			}
			if len(q.Features) != len(row) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "features names more than the model's features (%s)", strings.Join(mf.Model.Features, ", "))
			}
			return &jointScore{req: q, model: mf, row: row}, nil
		},
		scope: func(q *jointScore) (string, []string) { return remote.PurposeJointModeling, q.model.Model.Hosts },
		run: func(ctx context.Context, _ *call, q *jointScore) (any, *schemas.Error) {
			m := q.model.Model
			g, err := modeldir.Scorer(&joint.Dataset{IDs: []string{q.req.Applicant}, Features: m.Features, X: [][]float64{q.row}}, m, q.req.Applicant)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "features are not a row of the model")
			}
			reg, err := s.opts.Registry(s.opts.Clock())
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "registry")
			}
			consents := make([]remote.Consent, len(q.req.Consents))
			for i, tok := range q.req.Consents {
				consents[i] = remote.Consent{Name: "consents[" + strconv.Itoa(i) + "]", Token: tok}
			}
			p, err := s.opts.Joint.Score(ctx, g, m, q.model.HostCategories, q.req.Applicant, consents, reg, s.opts.Skew)
			if err != nil {
				return nil, schemas.AsError(err, schemas.CodeInternal, "scoring failed")
			}
			return JointScoreAnswer{Job: q.req.Job, Applicant: q.req.Applicant, Probability: p, Hosts: m.Hosts}, nil
		},
	}
}
