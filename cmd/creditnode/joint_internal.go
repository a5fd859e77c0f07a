package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/joint/modeldir"
	"github.com/creditexchange/node/node/records"
)

// The joint commands between nodes, when the guest node is running: the node runs the job
// (or scores, or asks the hosts) through its internal API, and the command follows it.

// jointRunInternal has the running node run the job and writes its model and report to
// rf.out.
func (a *app) jointRunInternal(ctx context.Context, cfg *config.Config, rf *jointRunFlags, hosts []string, cats map[string][]string) error {
	data, err := os.ReadFile(rf.data)
	if err != nil {
		return err
	}
	cl, who, err := rf.ic.client(cfg, internalapi.OpJoint)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(rf.out, 0o700); err != nil { // before any host does work
		return err
	}
	req := internalapi.JointTrainRequest{Job: rf.job, Hosts: hosts, Categories: cats, LabelDefinition: rf.labelDef, Label: rf.label,
		Data: string(data), Options: internalapi.JointTrainOptions{Iterations: rf.iterations, BatchSize: rf.batchSize, MaxBins: rf.maxBins,
			LearningRate: rf.lr, L2: rf.l2, TestFraction: rf.testFraction, Seed: rf.seed, MinCohort: rf.minCohort, InsecureKeyBits: rf.insecureBits}}
	var job internalapi.Job
	if err := cl.Do(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteJointJobs, "POST "), who, req, &job); err != nil {
		return err
	}
	prog := newJointProgress(a.errOut, len(hosts), job.Joint.Iterations)
	prog.Note("job %s: guest %s (through its internal API, job status %s), hosts %s", job.Joint.Job, cfg.ID, job.ID, strings.Join(hosts, ", "))
	last := ""
	job, err = cl.WaitJob(ctx, who, job, func(j internalapi.Job) {
		if p := j.Joint; p != nil && p.Step != "" && p.Step != "key" {
			if step := fmt.Sprintf("%s/%d", p.Step, p.Iteration); step != last {
				last = step
				prog.Step(p.Step, p.Iteration)
			}
		}
	})
	prog.End(err == nil && job.State == internalapi.JobDone)
	if err != nil {
		return err
	}
	if job.State != internalapi.JobDone {
		return fmt.Errorf("job %s: %s: %s", job.Joint.Job, job.Code, job.Error)
	}
	var mf modeldir.File
	path := "/internal/v1/joint/models/" + job.Joint.Job
	if err := cl.Do(ctx, http.MethodGet, path, who, nil, &mf); err != nil {
		return fmt.Errorf("job %s is done; its model is kept by the node, but could not be read: %w", job.Joint.Job, err)
	}
	var html []byte
	if err := cl.Send(ctx, http.MethodGet, path+"/report", who, "", nil, &html); err != nil {
		return fmt.Errorf("job %s is done; its report is kept by the node, but could not be read: %w", job.Joint.Job, err)
	}
	if err := modeldir.WriteJSON(filepath.Join(rf.out, modeldir.ModelFile), mf); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rf.out, modeldir.ReportFile), html, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "job %s: intersection %d (train %d, test %d); test AUC %.4f, KS %.4f\nwrote %s (the node keeps the model in %s)\n",
		job.Joint.Job, mf.Intersection, mf.Train, mf.Test, mf.TestAUC, mf.TestKS, rf.out,
		filepath.Join(cfg.Dir, filepath.FromSlash(internalapi.ModelsDir), job.Joint.Job))
	return nil
}

// jointScoreInternal has the running node score the applicant with the model of mf's job,
// which it keeps, from the applicant's row in sf.data.
func (a *app) jointScoreInternal(ctx context.Context, cfg *config.Config, sf *jointScoreFlags, mf *modeldir.File, applicant string) error {
	d, err := readDataset(sf.data, labelIfPresent(sf.data, sf.label))
	if err != nil {
		return err
	}
	row := -1
	for i, id := range d.IDs {
		if subj, _, err := records.NormalizeSubject(id); err == nil && subj == applicant {
			row = i
		}
	}
	if row < 0 {
		return fmt.Errorf("%s: no row for applicant %s", sf.data, applicant)
	}
	features := make(map[string]float64, len(d.Features))
	for j, f := range d.Features {
		features[f] = d.X[row][j]
	}
	req := internalapi.JointScoreRequest{Job: mf.Model.Job, Applicant: applicant, Features: features}
	for _, path := range sf.consents {
		tok, err := readTrimmed(path)
		if err != nil {
			return err
		}
		req.Consents = append(req.Consents, tok)
	}
	cl, who, err := sf.ic.client(cfg, internalapi.OpJoint)
	if err != nil {
		return err
	}
	var ans internalapi.JointScoreAnswer
	if err := cl.Do(ctx, http.MethodPost, strings.TrimPrefix(internalapi.RouteJointScore, "POST "), who, req, &ans); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "applicant %s: probability of default %.4f\n", ans.Applicant, ans.Probability)
	return nil
}

// internalHostsFunc runs a command about a job at its hosts through the running node.
type internalHostsFunc func(ctx context.Context, cfg *config.Config, ic *internalClientFlags, job string, hosts []string) error

// jointHostsInternal asks the running node for a job's state at its hosts, or to cancel it
// there, and prints one line per host.
func (a *app) jointHostsInternal(cancel bool) internalHostsFunc {
	return func(ctx context.Context, cfg *config.Config, ic *internalClientFlags, job string, hosts []string) error {
		return a.jointHosts(ctx, cfg, ic, cancel, job, hosts)
	}
}

func (a *app) jointHosts(ctx context.Context, cfg *config.Config, ic *internalClientFlags, cancel bool, job string, hosts []string) error {
	cl, who, err := ic.client(cfg, internalapi.OpJoint)
	if err != nil {
		return err
	}
	route := internalapi.RouteJointStatus
	if cancel {
		route = internalapi.RouteJointCancel
	}
	var ans internalapi.JointHostsAnswer
	if err := cl.Do(ctx, http.MethodPost, strings.TrimPrefix(route, "POST "), who, internalapi.JointHostsRequest{Job: job, Hosts: hosts}, &ans); err != nil {
		return err
	}
	failed := 0
	for _, h := range ans.Hosts {
		switch {
		case h.Code != "":
			failed++
			fmt.Fprintf(a.errOut, "%s: %s: %s\n", h.Host, h.Code, h.Message)
		case cancel:
			fmt.Fprintf(a.out, "%s: job %s %s\n", h.Host, job, h.State)
		default:
			iters := "-"
			if h.Iterations != nil {
				iters = fmt.Sprint(*h.Iterations)
			}
			fmt.Fprintf(a.out, "%s: job %s %s, iterations %s, updated %s\n", h.Host, job, h.State, iters, h.Updated)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d host(s) did not answer", failed, len(ans.Hosts))
	}
	return nil
}
