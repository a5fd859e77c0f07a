package remote

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/creditexchange/node/crypto/paillier"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/schemas"
)

// fakeJobs is jobHosts over joint.Hosts in this process: the protocol messages the member
// API would carry, without signatures and logs (node/e2e_joint_test.go runs the real thing).
// It records what the run asked of each host.
type fakeJobs struct {
	hosts  map[string]*joint.Host
	refuse map[string]schemas.Code // host → the code it refuses proposals with
	after  map[string]func()       // message kind → run once, after a host answered one

	mu                            sync.Mutex
	proposed, finished, cancelled []string
}

func (f *fakeJobs) Propose(ctx context.Context, host string, p Proposal) (*schemas.JointAnswer, error) {
	if code := f.refuse[host]; code != "" {
		return nil, schemas.Errorf(code, "denied by policy")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proposed = append(f.proposed, host)
	return &schemas.JointAnswer{Job: p.Job, State: schemas.JobProposed}, nil
}

func (f *fakeJobs) Finish(ctx context.Context, host, job string) (*schemas.JointAnswer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finished = append(f.finished, host)
	return &schemas.JointAnswer{Job: job, State: schemas.JobDone}, nil
}

func (f *fakeJobs) Cancel(ctx context.Context, host, job string) (*schemas.JointAnswer, error) {
	if err := ctx.Err(); err != nil { // a request on an ended context is never sent
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, "not sent")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.proposed, host) {
		return nil, schemas.Errorf(schemas.CodeJobUnknown, "no such job")
	}
	f.cancelled = append(f.cancelled, host)
	return &schemas.JointAnswer{Job: job, State: schemas.JobCancelled}, nil
}

func (f *fakeJobs) Conn(host, job string) joint.Conn {
	return &fakeConn{f: f, inner: &joint.LocalConn{Host: f.hosts[host]}}
}

type fakeConn struct {
	f     *fakeJobs
	inner joint.Conn
}

func (c *fakeConn) Call(ctx context.Context, m joint.Message) (joint.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, "not sent")
	}
	out, err := c.inner.Call(ctx, m)
	c.f.mu.Lock()
	hook := c.f.after[m.Kind()]
	delete(c.f.after, m.Kind())
	c.f.mu.Unlock()
	if hook != nil && err == nil {
		hook()
	}
	return out, err
}

// jointFixture is a guest and two hosts over synthetic data.
func jointFixture(t *testing.T) (*joint.Guest, *fakeJobs, Terms) {
	t.Helper()
	syn := joint.GenerateSME(joint.SynthOptions{Members: 200, GuestFeatures: 2, HostFeatures: []int{2, 2}, Seed: 3})
	sk, err := paillier.GenerateKey(paillier.Options{Bits: 512, AllowInsecureSize: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := joint.NewGuest(syn.Guest, joint.GuestOptions{MinCohort: 20, Iterations: 3, Key: sk})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeJobs{hosts: map[string]*joint.Host{}, refuse: map[string]schemas.Code{}, after: map[string]func(){}}
	job := Terms{ID: "job-t", Hosts: []string{"tax-dept", "si-dept"}, Label: "dpd90", Cohort: len(syn.Guest.IDs),
		Categories: map[string][]string{"tax-dept": {"tax_payment"}, "si-dept": {"social_insurance"}}}
	for i, name := range job.Hosts {
		h, err := joint.NewHost(syn.Hosts[i], joint.HostOptions{MinCohort: 20, KeyOptions: paillier.Options{AllowInsecureSize: true}})
		if err != nil {
			t.Fatal(err)
		}
		f.hosts[name] = h
	}
	return g, f, job
}

func TestRunJobFinishes(t *testing.T) {
	g, f, job := jointFixture(t)
	res, err := runJob(t.Context(), f, g, job, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Model == nil || !slices.Equal(res.Model.Hosts, job.Hosts) {
		t.Fatalf("model %+v", res.Model)
	}
	if !slices.Equal(f.finished, job.Hosts) || len(f.cancelled) != 0 {
		t.Fatalf("finished %v, cancelled %v", f.finished, f.cancelled)
	}
}

// An interrupted run (Ctrl-C ends the command's context) cancels the job at every host, with
// requests that are not themselves cancelled.
func TestRunJobInterrupted(t *testing.T) {
	g, f, job := jointFixture(t)
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	f.after[joint.KindBinRequest] = interrupt
	var notes []string
	_, err := runJob(ctx, f, g, job, func(format string, args ...any) { notes = append(notes, format) })
	if err == nil || !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "interrupted: ") {
		t.Fatalf("error %v", err)
	}
	if !slices.Equal(f.cancelled, job.Hosts) || len(f.finished) != 0 {
		t.Fatalf("cancelled %v, finished %v", f.cancelled, f.finished)
	}
	if n := len(slices.DeleteFunc(notes, func(s string) bool { return !strings.HasPrefix(s, "cancelled job") })); n != 2 {
		t.Fatalf("%d cancellations reported", n)
	}
}

// A host that refuses the proposal holds no job; the hosts that accepted it cancel it.
func TestRunJobRefused(t *testing.T) {
	g, f, job := jointFixture(t)
	f.refuse["si-dept"] = schemas.CodeConsentMissing
	_, err := runJob(t.Context(), f, g, job, t.Logf)
	if answerCode(err) != schemas.CodeConsentMissing || !strings.Contains(err.Error(), "si-dept refused the job") ||
		!strings.Contains(err.Error(), "the public ones under the federation's policy") {
		t.Fatalf("error %v", err)
	}
	if !slices.Equal(f.cancelled, []string{"tax-dept"}) {
		t.Fatalf("cancelled %v", f.cancelled)
	}
}

// A host that did not answer the proposal may hold the job: it is asked to cancel it too, and
// its job_unknown (the proposal never arrived) is no error.
func TestRunJobProposalLost(t *testing.T) {
	g, f, job := jointFixture(t)
	f.refuse["si-dept"] = schemas.CodePeerUnavailable
	_, err := runJob(t.Context(), f, g, job, t.Logf)
	var joined interface{ Unwrap() []error }
	if answerCode(err) != schemas.CodePeerUnavailable || !errors.As(err, &joined) || len(joined.Unwrap()) != 1 {
		t.Fatalf("error %v", err)
	}
	if !slices.Equal(f.cancelled, []string{"tax-dept"}) {
		t.Fatalf("cancelled %v", f.cancelled)
	}
}
