package remote

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
	"github.com/creditexchange/node/node/gate"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/dpnoise"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/aggregate"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// memAggStore is an in-memory AggregateStore whose history read is slow, to widen the window
// between the differencing check and the record of a query set.
type memAggStore struct {
	mu   sync.Mutex
	sets map[string][][]string
}

func (m *memAggStore) AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error) {
	m.mu.Lock()
	out := slices.Clone(m.sets[dataset])
	m.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return out, nil
}

func (m *memAggStore) AddAggregateQuerySet(ctx context.Context, dataset string, members []string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sets[dataset] = append(m.sets[dataset], slices.Clone(members))
	return nil
}

func (m *memAggStore) SpendPrivacyBudget(ctx context.Context, requester string, cost []byte, check func(prior [][]byte) error, now time.Time) error {
	return nil // unlimited: this test is about query sets
}

// TestAggregateDifferencingConcurrent: many concurrent requests, each with its own engine as
// the service makes one per request, send query sets that pairwise differ by 2 < MinCohort
// members; at most one may be answered.
func TestAggregateDifferencingConcurrent(t *testing.T) {
	syn := joint.GenerateSME(joint.SynthOptions{Members: 120, GuestFeatures: 1, HostFeatures: []int{2}, Seed: 3})
	data := syn.Hosts[0]
	st := &memAggStore{sets: map[string][][]string{}}
	s := &Service{setMu: map[string]*sync.Mutex{}}
	base := data.IDs[:60]
	const n = 32
	var answered, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			eng, err := aggregate.New(data, aggregate.Options{MinCohort: 10,
				Ledger:  aggregate.StoredLedger{Store: st, Limit: dpnoise.Budget{Epsilon: big.NewRat(1000, 1)}},
				History: aggregate.StoredHistory{Store: st, Dataset: "tax_payment"}})
			if err != nil {
				t.Error(err)
				return
			}
			members := slices.Delete(slices.Clone(base), i, i+1) // differs from every other by 2
			_, err = s.answerAggregate(t.Context(), "tax_payment", eng, aggregate.Query{Requester: fmt.Sprint("m", i),
				Kind: aggregate.Count, Members: members, Epsilon: big.NewRat(1, 10)})
			switch {
			case err == nil:
				answered.Add(1)
			case errors.Is(err, aggregate.ErrDifferencing):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if answered.Load() != 1 || refused.Load() != n-1 {
		t.Fatalf("answered %d, refused %d of %d overlapping query sets; want exactly 1 answered", answered.Load(), refused.Load(), n)
	}
	if len(s.setMu) != 1 {
		t.Fatalf("%d dataset locks, want 1", len(s.setMu))
	}
}

type fakeDecider struct {
	mu  sync.Mutex
	res policy.Result
	in  []policy.Input
}

func (d *fakeDecider) Decide(ctx context.Context, in policy.Input) (policy.Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.in = append(d.in, in)
	return d.res, nil
}

func (d *fakeDecider) set(r policy.Result) { d.mu.Lock(); d.res = r; d.mu.Unlock() }

type fakeReg struct{ members map[string]*schemas.Member }

func (r fakeReg) Member(id string) (*schemas.Member, bool)            { m, ok := r.members[id]; return m, ok }
func (fakeReg) MemberByFingerprint(string) (string, bool)             { return "", false }
func (fakeReg) SigningKey(string, string) (ed25519.PublicKey, bool)   { return nil, false }
func (fakeReg) RegistrarKey(string, string) (ed25519.PublicKey, bool) { return nil, false }
func (fakeReg) EncryptionKey(string) (*ecdh.PublicKey, string, bool)  { return nil, "", false }

type fakeSeq struct{ denied []store.Leaf }

func (f *fakeSeq) CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error) {
	return store.Appended{}, errors.New("not in this test")
}
func (f *fakeSeq) AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error) {
	f.denied = append(f.denied, l)
	return store.Appended{Index: uint64(len(f.denied) - 1)}, nil
}

// TestStepRedecidesPolicy: a step of a job proposed under one policy revision is refused,
// and logged, once a new revision (or a registry change the policy sees) no longer allows it.
func TestStepRedecidesPolicy(t *testing.T) {
	dec := &fakeDecider{res: policy.Result{Allow: true, DecisionID: "d1", Revision: "r1"}}
	seq := &fakeSeq{}
	s := &Service{opts: Options{ID: "tax-dept", Policy: dec, Sequencer: seq, Clock: time.Now,
		Catalog: map[string]string{"tax_payment": "public"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		hosts: map[string]*joint.Host{}, jobMu: map[string]*jobLock{}}
	s.inq = gate.NewInquiries(seq, s.opts.Logger, s.opts.Clock)
	reg := fakeReg{members: map[string]*schemas.Member{"bank-a": {Organisation: "Bank A", Roles: []string{"bank"}}}}
	job := Job{ID: "j1", Guest: "bank-a", Categories: []string{"tax_payment"}, State: schemas.JobAligned,
		DecisionID: "d1", PolicyRevision: "r1"}
	msg, err := joint.Marshal(&joint.BinRequest{Job: "j1"})
	if err != nil {
		t.Fatal(err)
	}
	dec.set(policy.Result{Allow: false, Code: string(schemas.CodePolicyDenied), Reasons: []string{"role_not_permitted"}, DecisionID: "d2", Revision: "r2"})
	reg.members["bank-a"].Roles = nil // a registry change, seen by the new decision
	q := &request{op: schemas.JointOpStep, peer: "bank-a", job: &job,
		claims: &schemas.JointRequest{ID: "req1", Op: schemas.JointOpStep, Job: "j1", Message: msg}}
	a := s.step(t.Context(), reg, q, time.Now())
	if a.err == nil || a.err.Code != schemas.CodePolicyDenied {
		t.Fatalf("step after a policy change: %+v, want policy_denied", a.err)
	}
	if len(seq.denied) != 1 {
		t.Fatalf("%d log entries, want the refusal logged", len(seq.denied))
	}
	if last := dec.in[len(dec.in)-1]; last.Requester.ID != "bank-a" || len(last.Requester.Roles) != 0 || last.Purpose != PurposeJointModeling {
		t.Fatalf("policy input %+v: not the job's, with the current registry", last.Requester)
	}
	if q.job.PolicyRevision != "r2" || q.job.DecisionID != "d2" {
		t.Fatalf("refusal logged under %s/%s, want the new decision d2/r2", q.job.DecisionID, q.job.PolicyRevision)
	}
	if len(s.hosts) != 0 {
		t.Fatal("a host was built for a step the policy refused")
	}
}

// TestJobLocksReleased: lock entries live only while held, however many job ids are sent.
func TestJobLocksReleased(t *testing.T) {
	s := &Service{jobMu: map[string]*jobLock{}}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			unlock := s.lockJob("bank-a", fmt.Sprint("job", i%7))
			time.Sleep(time.Millisecond)
			unlock()
		})
	}
	wg.Wait()
	if len(s.jobMu) != 0 {
		t.Fatalf("%d lock entries left after every request ended", len(s.jobMu))
	}
}

// TestHostsBounded: at most MaxHosts hosts stay in memory; a done job's host is dropped.
func TestHostsBounded(t *testing.T) {
	syn := joint.GenerateSME(joint.SynthOptions{Members: 60, GuestFeatures: 1, HostFeatures: []int{2}, Seed: 5})
	s := &Service{opts: Options{MaxHosts: 3, Data: fixedData{syn.Hosts[0]}, Host: joint.HostOptions{}},
		hosts: map[string]*joint.Host{}}
	for i := range 10 {
		if _, err := s.hostFor(t.Context(), &Job{ID: fmt.Sprint("j", i), Guest: "bank-a", Categories: []string{"tax_payment"}}); err != nil {
			t.Fatal(err)
		}
		if len(s.hosts) > 3 {
			t.Fatalf("%d hosts in memory, bound 3", len(s.hosts))
		}
	}
	s.drop(&Job{ID: "j9", Guest: "bank-a"})
	if _, ok := s.hosts["bank-a\x00j9"]; ok {
		t.Fatal("host kept after drop")
	}
}

type fixedData struct{ d *joint.Dataset }

func (f fixedData) JointData(ctx context.Context, categories []string) (*joint.Dataset, error) {
	return f.d, nil
}

func (fakeReg) SubjectCertRevoked(string, string) bool { return false }
