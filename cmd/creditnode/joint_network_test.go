package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/paillier"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/schemas"
)

// fakeJobs is jointJobs over joint.Hosts in this process: the protocol messages the member
// API would carry, without signatures and logs (node/e2e_joint_test.go runs the real thing).
// It records what the run asked of each host.
type fakeJobs struct {
	hosts  map[string]*joint.Host
	refuse map[string]schemas.Code // host → the code it refuses proposals with
	after  map[string]func()       // message kind → run once, after a host answered one

	mu                            sync.Mutex
	proposed, finished, cancelled []string
}

func (f *fakeJobs) Propose(ctx context.Context, host string, p remote.Proposal) (*schemas.JointAnswer, error) {
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
func jointFixture(t *testing.T) (*joint.Guest, *fakeJobs, networkJob) {
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
	job := networkJob{ID: "job-t", Hosts: []string{"tax-dept", "si-dept"}, Label: "dpd90", Cohort: len(syn.Guest.IDs),
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

func TestRunNetworkJobFinishes(t *testing.T) {
	g, f, job := jointFixture(t)
	res, err := runNetworkJob(t.Context(), f, g, job, t.Logf)
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
func TestRunNetworkJobInterrupted(t *testing.T) {
	g, f, job := jointFixture(t)
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	f.after[joint.KindBinRequest] = interrupt
	var notes []string
	_, err := runNetworkJob(ctx, f, g, job, func(format string, args ...any) { notes = append(notes, format) })
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
func TestRunNetworkJobRefused(t *testing.T) {
	g, f, job := jointFixture(t)
	f.refuse["si-dept"] = schemas.CodeConsentMissing
	_, err := runNetworkJob(t.Context(), f, g, job, t.Logf)
	if errorCode(err) != schemas.CodeConsentMissing || !strings.Contains(err.Error(), "si-dept refused the job") {
		t.Fatalf("error %v", err)
	}
	if !slices.Equal(f.cancelled, []string{"tax-dept"}) {
		t.Fatalf("cancelled %v", f.cancelled)
	}
}

// A host that did not answer the proposal may hold the job: it is asked to cancel it too, and
// its job_unknown (the proposal never arrived) is no error.
func TestRunNetworkJobProposalLost(t *testing.T) {
	g, f, job := jointFixture(t)
	f.refuse["si-dept"] = schemas.CodePeerUnavailable
	_, err := runNetworkJob(t.Context(), f, g, job, t.Logf)
	var joined interface{ Unwrap() []error }
	if errorCode(err) != schemas.CodePeerUnavailable || !errors.As(err, &joined) || len(joined.Unwrap()) != 1 {
		t.Fatalf("error %v", err)
	}
	if !slices.Equal(f.cancelled, []string{"tax-dept"}) {
		t.Fatalf("cancelled %v", f.cancelled)
	}
}

func TestParseHostCategories(t *testing.T) {
	hosts := []string{"tax-dept", "si-dept"}
	for _, tc := range []struct {
		specs []string
		want  map[string][]string
		err   string
	}{
		{specs: []string{"tax_payment"}, want: map[string][]string{"tax-dept": {"tax_payment"}, "si-dept": {"tax_payment"}}},
		{specs: []string{"tax-dept:tax_payment,si-dept:social_insurance", "si-dept:social_insurance"},
			want: map[string][]string{"tax-dept": {"tax_payment"}, "si-dept": {"social_insurance"}}},
		{specs: []string{"tax-dept:tax_payment"}, err: "no category for host si-dept"},
		{specs: []string{"bank-b:tax_payment", "x"}, err: "HOST one of --hosts"},
		{specs: []string{"tax-dept:", "x"}, err: "HOST one of --hosts"},
		{err: "no category for host tax-dept"},
	} {
		got, err := parseHostCategories(tc.specs, hosts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.specs, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%q: %v, %v", tc.specs, got, err)
			continue
		}
		for h, cats := range tc.want {
			if !slices.Equal(got[h], cats) {
				t.Errorf("%q: %s gets %v, want %v", tc.specs, h, got[h], cats)
			}
		}
	}
}

// TestAskHostsOrderAndBound: joint status asks the hosts concurrently, never more than
// statusWorkers at once, and reports in the order of --hosts, failures included.
func TestAskHostsOrderAndBound(t *testing.T) {
	var hosts []string
	for i := range 3 * statusWorkers {
		hosts = append(hosts, fmt.Sprintf("host-%02d", i))
	}
	var mu sync.Mutex
	running, most := 0, 0
	out := askHosts(t.Context(), hosts, func(ctx context.Context, h string) (*schemas.JointStatus, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if strings.HasSuffix(h, "3") {
			return nil, schemas.Errorf(schemas.CodeJobUnknown, "no such job")
		}
		return &schemas.JointStatus{Job: "j", State: schemas.JobDone, Updated: h}, nil
	})
	if most > statusWorkers || most < 2 {
		t.Fatalf("%d hosts asked at once, want 2..%d", most, statusWorkers)
	}
	for i, r := range out {
		if r.host != hosts[i] {
			t.Fatalf("answer %d from %s, want %s", i, r.host, hosts[i])
		}
		if strings.HasSuffix(r.host, "3") {
			if errorCode(r.err) != schemas.CodeJobUnknown {
				t.Fatalf("%s: %v", r.host, r.err)
			}
			continue
		}
		if r.err != nil || r.st.Updated != r.host {
			t.Fatalf("%s: %+v %v", r.host, r.st, r.err)
		}
	}
	it := 4
	if got := (hostStatus{host: "tax-dept", st: &schemas.JointStatus{Job: "j", State: schemas.JobTraining, Iterations: &it,
		Updated: "2026-01-01T00:00:00Z"}}).line(); got != "tax-dept: job j training, iterations 4, updated 2026-01-01T00:00:00Z" {
		t.Fatalf("line %q", got)
	}
}
