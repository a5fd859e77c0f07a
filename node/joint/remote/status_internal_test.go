package remote

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/crypto/paillier"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// stMember is one member of the test federation: its keys and its TLS certificate's DER (any
// bytes: the host knows a member by the certificate's fingerprint).
type stMember struct {
	keys *keys.NodeKeys
	cert []byte
}

// stReg is the federation's registry, for the host (gate.RegistryView) and the guests
// (peer.Registry).
type stReg struct{ members map[string]stMember }

func (r stReg) Member(id string) (*schemas.Member, bool) {
	if _, ok := r.members[id]; !ok {
		return nil, false
	}
	return &schemas.Member{Organisation: "org " + id, Roles: []string{"bank"}}, true
}

func (r stReg) MemberByFingerprint(fp string) (string, bool) {
	for id, m := range r.members {
		if certs.Fingerprint(m.cert) == fp {
			return id, true
		}
	}
	return "", false
}

func (r stReg) SigningKey(id, kid string) (ed25519.PublicKey, bool) {
	m, ok := r.members[id]
	if !ok || kid != m.keys.SigningKID {
		return nil, false
	}
	return m.keys.Signer.Public().(ed25519.PublicKey), true
}

func (stReg) RegistrarKey(string, string) (ed25519.PublicKey, bool) { return nil, false }

func (r stReg) EncryptionKey(id string) (*ecdh.PublicKey, string, bool) {
	m, ok := r.members[id]
	if !ok {
		return nil, "", false
	}
	return m.keys.Encryption.PublicKey(), m.keys.EncryptionKID, true
}

type stHostRegs struct{ r stReg }

func (s stHostRegs) Snapshot(time.Time) (gate.RegistryView, error) { return s.r, nil }

type stGuestRegs struct{ r stReg }

func (s stGuestRegs) Snapshot(time.Time) (peer.Registry, error) { return s.r, nil }

// stJobs is an in-memory JobStore.
type stJobs struct {
	mu   sync.Mutex
	jobs map[string]Job
}

func (s *stJobs) CreateJointJob(ctx context.Context, j Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := j.Guest + "\x00" + j.ID
	if _, ok := s.jobs[k]; ok {
		return store.ErrInvalid
	}
	s.jobs[k] = j
	return nil
}

func (s *stJobs) JointJob(ctx context.Context, guest, id string) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[guest+"\x00"+id]
	if !ok {
		return Job{}, store.ErrNotFound
	}
	return j, nil
}

func (s *stJobs) UpdateJointJob(ctx context.Context, guest, id, state string, session []byte, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := guest + "\x00" + id
	j, ok := s.jobs[k]
	if !ok {
		return store.ErrNotFound
	}
	j.State, j.Session, j.Updated = state, session, now
	s.jobs[k] = j
	return nil
}

// stLog is the host's inquiry log and request-id register.
type stLog struct {
	mu      sync.Mutex
	seen    map[string]bool
	entries []schemas.InquiryEntry
}

func (l *stLog) add(leaf store.Leaf) (store.Appended, error) {
	var e schemas.InquiryEntry
	if err := json.Unmarshal(leaf.Entry, &e); err != nil {
		return store.Appended{}, err
	}
	l.entries = append(l.entries, e)
	return store.Appended{Index: uint64(len(l.entries) - 1)}, nil
}

func (l *stLog) CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := c.Requester + "\x00" + c.RequestID
	if l.seen[k] {
		return store.Appended{}, store.ErrReplay
	}
	l.seen[k] = true
	return l.add(c.Leaf)
}

func (l *stLog) AppendInquiry(ctx context.Context, leaf store.Leaf) (store.Appended, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.add(leaf)
}

func (l *stLog) RequestSeen(ctx context.Context, requester, id string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[requester+"\x00"+id], nil
}

func (l *stLog) Revoked(ctx context.Context, subject, consentID string) (bool, error) {
	return false, nil
}
func (l *stLog) ConsentUses(ctx context.Context, subject, consentID string) (int, error) {
	return 0, nil
}

// stSender delivers a guest's requests to the host's routes in this process, over a TLS
// state carrying the guest's certificate.
type stSender struct {
	mux  *http.ServeMux
	cert []byte
}

func (s stSender) SendRaw(ctx context.Context, member, path string, body []byte) (int, []byte, error) {
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(body))
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: s.cert}}}
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes(), nil
}

// stFed is a host (tax-dept) and two guests (bank-a, bank-b) in this process.
type stFed struct {
	reg   stReg
	jobs  *stJobs
	log   *stLog
	mux   *http.ServeMux
	data  *joint.Synthetic
	clock func() time.Time
}

func newStFed(t *testing.T) *stFed {
	t.Helper()
	reg := stReg{members: map[string]stMember{}}
	for _, id := range []string{"tax-dept", "bank-a", "bank-b"} {
		nk, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		reg.members[id] = stMember{keys: nk, cert: []byte("certificate of " + id)}
	}
	f := &stFed{reg: reg, jobs: &stJobs{jobs: map[string]Job{}}, log: &stLog{seen: map[string]bool{}},
		data: joint.GenerateSME(joint.SynthOptions{Members: 120, GuestFeatures: 2, HostFeatures: []int{2}, Seed: 11})}
	svc, err := New(Options{ID: "tax-dept", Jurisdiction: "CN", Keys: reg.members["tax-dept"].keys, Registries: stHostRegs{reg},
		Sequencer: f.log, Policy: &fakeDecider{res: policy.Result{Allow: true, DecisionID: "d1", Revision: "r1"}},
		Catalog: map[string]string{"tax_payment": "public"}, Jobs: f.jobs, Requests: f.log, Data: fixedData{f.data.Hosts[0]},
		Host: joint.HostOptions{MinCohort: 20, KeyOptions: paillier.Options{AllowInsecureSize: true}}, Skew: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.mux = http.NewServeMux()
	for pattern, h := range svc.Routes() {
		f.mux.Handle(pattern, h)
	}
	return f
}

func (f *stFed) client(id string) *Client {
	m := f.reg.members[id]
	return &Client{ID: id, Keys: m.keys, Registries: stGuestRegs{f.reg}, Sender: stSender{mux: f.mux, cert: m.cert}}
}

func (f *stFed) propose(t *testing.T, c *Client, job string) {
	t.Helper()
	if _, err := c.Propose(t.Context(), "tax-dept", Proposal{Job: job, Categories: []string{"tax_payment"}, Label: "default",
		Cohort: len(f.data.Guest.IDs), Hosts: []string{"tax-dept"}}); err != nil {
		t.Fatalf("propose %s: %v", job, err)
	}
}

func codeOf(err error) schemas.Code {
	var e *schemas.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// statusOf asks the host for job's status as c and checks the answer's invariants.
func statusOf(t *testing.T, c *Client, job string) *schemas.JointStatus {
	t.Helper()
	st, err := c.Status(t.Context(), "tax-dept", job)
	if err != nil {
		t.Fatalf("status of %s as %s: %v", job, c.ID, err)
	}
	if st.Job != job || st.Guest != c.ID || len(st.Categories) != 1 || st.Categories[0] != "tax_payment" ||
		len(st.Hosts) != 1 || st.Hosts[0] != "tax-dept" || st.Created == "" || st.Updated == "" {
		t.Fatalf("status %+v", st)
	}
	for _, ts := range []string{st.Created, st.Updated} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Fatalf("status time %q: %v", ts, err)
		}
	}
	return st
}

// statusConn is a joint.Conn that asks the job's status after each message of the kinds in
// after, and records the states seen.
type statusConn struct {
	inner  joint.Conn
	status func() *schemas.JointStatus
	after  map[string]string // message kind → state expected once the host answered it
	seen   map[string]*schemas.JointStatus
}

func (c *statusConn) Call(ctx context.Context, m joint.Message) (joint.Message, error) {
	out, err := c.inner.Call(ctx, m)
	if _, ok := c.after[m.Kind()]; ok && err == nil && c.seen[m.Kind()] == nil {
		c.seen[m.Kind()] = c.status()
	}
	return out, err
}

// TestStatusFollowsTheJob: the job's guest sees its state after the proposal, each protocol
// stage, the finish and a cancel; the answer names no enterprise; each status request is
// logged (allow, no subject, no per-enterprise entries).
func TestStatusFollowsTheJob(t *testing.T) {
	f := newStFed(t)
	a := f.client("bank-a")
	f.propose(t, a, "job-1")
	st := statusOf(t, a, "job-1")
	if st.State != schemas.JobProposed || st.Iterations == nil || *st.Iterations != 0 || st.Cohort != len(f.data.Guest.IDs) {
		t.Fatalf("after propose: %+v", st)
	}

	sk, err := paillier.GenerateKey(paillier.Options{Bits: 512, AllowInsecureSize: true})
	if err != nil {
		t.Fatal(err)
	}
	const iters = 3
	g, err := joint.NewGuest(f.data.Guest, joint.GuestOptions{MinCohort: 20, Iterations: iters, Key: sk, SplitSeed: 1,
		Params: joint.TrainParams{MaxBins: 4, LearningRate: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	conn := &statusConn{inner: a.Conn("tax-dept", "job-1"), status: func() *schemas.JointStatus { return statusOf(t, a, "job-1") },
		after: map[string]string{joint.KindAlignRequest: schemas.JobAligned, joint.KindBinRequest: schemas.JobBinned,
			joint.KindUnmaskRequest: schemas.JobTraining},
		seen: map[string]*schemas.JointStatus{}}
	if _, err := g.Train(t.Context(), "job-1", []joint.HostLink{{Name: "tax-dept", Conn: conn}}); err != nil {
		t.Fatalf("train: %v", err)
	}
	for kind, want := range conn.after {
		got := conn.seen[kind]
		if got == nil || got.State != want {
			t.Fatalf("status after %s: %+v, want state %s", kind, got, want)
		}
	}
	if it := conn.seen[joint.KindUnmaskRequest].Iterations; it == nil || *it != 1 {
		t.Fatalf("after the first iteration: iterations %v, want 1", it)
	}
	st = statusOf(t, a, "job-1")
	if st.State != schemas.JobTraining || st.Iterations == nil || *st.Iterations != iters {
		t.Fatalf("after training: %+v", st)
	}
	if _, err := a.Finish(t.Context(), "tax-dept", "job-1"); err != nil {
		t.Fatal(err)
	}
	st = statusOf(t, a, "job-1")
	if st.State != schemas.JobDone || st.Iterations == nil || *st.Iterations != iters {
		t.Fatalf("after finish: %+v", st)
	}

	// A cancelled job: its state is erased, its status stays.
	f.propose(t, a, "job-2")
	if _, err := a.Cancel(t.Context(), "tax-dept", "job-2"); err != nil {
		t.Fatal(err)
	}
	st = statusOf(t, a, "job-2")
	if st.State != schemas.JobCancelled || st.Iterations != nil {
		t.Fatalf("after cancel: %+v", st)
	}

	// What left the host: the answer is the status only, with no identifier of the data.
	raw, err := a.call(t.Context(), "tax-dept", PathStatus, schemas.JointRequest{Op: schemas.JointOpStatus, Job: "job-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range f.data.Hosts[0].IDs {
		if strings.Contains(string(raw.Message), id) {
			t.Fatalf("status answer names enterprise %s: %s", id, raw.Message)
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw.Message, &fields); err != nil {
		t.Fatal(err)
	}
	for name := range fields {
		switch name {
		case "job", "guest", "state", "categories", "cohort", "hosts", "iterations", "created", "updated":
		default:
			t.Fatalf("status answer has field %q", name)
		}
	}

	// Each status request has one allowed entry of its own, naming no subject.
	statuses := 0
	for _, e := range f.log.entries {
		if strings.HasSuffix(e.Outcome, ", step status") {
			statuses++
			if e.Subject != "" || e.Decision != schemas.DecisionAllow || e.Requester != "bank-a" {
				t.Fatalf("status entry %+v", e)
			}
		}
	}
	if statuses != 8 {
		t.Fatalf("%d status entries in the host's log, want 8", statuses)
	}
}

// TestStatusOfAnotherGuestsJob: another member asking for a job it did not propose gets
// job_unknown, exactly as for a job that does not exist, and the refusal is logged.
func TestStatusOfAnotherGuestsJob(t *testing.T) {
	f := newStFed(t)
	a, b := f.client("bank-a"), f.client("bank-b")
	f.propose(t, a, "job-a")
	_, errOther := b.Status(t.Context(), "tax-dept", "job-a")
	_, errNone := b.Status(t.Context(), "tax-dept", "job-nobody")
	_, errNoneA := a.Status(t.Context(), "tax-dept", "job-nobody")
	for _, err := range []error{errOther, errNone, errNoneA} {
		if codeOf(err) != schemas.CodeJobUnknown {
			t.Fatalf("status of a job the requester did not propose: %v, want job_unknown", err)
		}
	}
	if errOther.Error() != errNone.Error() {
		t.Fatalf("another guest's job answers %q, an unknown one %q: they must not differ", errOther, errNone)
	}
	denied := 0
	for _, e := range f.log.entries {
		if e.Code == schemas.CodeJobUnknown && strings.HasSuffix(e.Outcome, ", step status") {
			denied++
		}
	}
	if denied != 3 {
		t.Fatalf("%d job_unknown status entries, want 3", denied)
	}
	// bank-b's request changed nothing for bank-a.
	if st := statusOf(t, a, "job-a"); st.State != schemas.JobProposed {
		t.Fatalf("status %+v", st)
	}
}

// TestStatusMalformed: malformed status requests get their wire codes.
func TestStatusMalformed(t *testing.T) {
	f := newStFed(t)
	a := f.client("bank-a")
	f.propose(t, a, "job-1")
	// A status request carrying more than the job id.
	_, err := a.call(t.Context(), "tax-dept", PathStatus, schemas.JointRequest{Op: schemas.JointOpStatus, Job: "job-1",
		Message: []byte("x")})
	if codeOf(err) != schemas.CodeMalformedRequest {
		t.Fatalf("status with a message: %v", err)
	}
	// No job id.
	if _, err := a.Status(t.Context(), "tax-dept", ""); codeOf(err) != schemas.CodeMalformedRequest {
		t.Fatalf("status without a job: %v", err)
	}
	// The status op on another route, and another op on the status route.
	if _, err := a.call(t.Context(), "tax-dept", PathCancel, schemas.JointRequest{Op: schemas.JointOpStatus, Job: "job-1"}); codeOf(err) != schemas.CodeMalformedRequest {
		t.Fatalf("status op on the cancel route: %v", err)
	}
	if _, err := a.call(t.Context(), "tax-dept", PathStatus, schemas.JointRequest{Op: schemas.JointOpCancel, Job: "job-1"}); codeOf(err) != schemas.CodeMalformedRequest {
		t.Fatalf("cancel op on the status route: %v", err)
	}
	if st := statusOf(t, a, "job-1"); st.State != schemas.JobProposed {
		t.Fatalf("the cancel sent to the status route moved the job: %+v", st)
	}
	// Not a JWS, and a JWS of another type.
	send := stSender{mux: f.mux, cert: f.reg.members["bank-a"].cert}
	status, body, _ := send.SendRaw(t.Context(), "tax-dept", PathStatus, []byte("not a token"))
	if c := wireCode(t, status, body); c != schemas.CodeMalformedRequest {
		t.Fatalf("garbage body: %s", c)
	}
	nk := f.reg.members["bank-a"].keys
	payload, _ := json.Marshal(schemas.JointRequest{ID: "r-typ", IssuedAt: time.Now().Unix(), Issuer: "bank-a", Audience: "tax-dept",
		Op: schemas.JointOpStatus, Job: "job-1"})
	tok, err := jose.Sign(nk.Signer, nk.SigningKID, schemas.TypQuery, payload)
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ = send.SendRaw(t.Context(), "tax-dept", PathStatus, tok)
	if c := wireCode(t, status, body); c != schemas.CodeBadSignature {
		t.Fatalf("query-typed token on the status route: %s", c)
	}
	// A replayed status request.
	tok, err = jose.Sign(nk.Signer, nk.SigningKID, schemas.TypJointRequest, payload)
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ = send.SendRaw(t.Context(), "tax-dept", PathStatus, tok)
	if status != http.StatusOK {
		t.Fatalf("status request: %d %s", status, body)
	}
	status, body, _ = send.SendRaw(t.Context(), "tax-dept", PathStatus, tok)
	if c := wireCode(t, status, body); c != schemas.CodeReplay {
		t.Fatalf("replayed status request: %s", c)
	}
}

func wireCode(t *testing.T, status int, body []byte) schemas.Code {
	t.Helper()
	var eb schemas.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("%d %s: %v", status, body, err)
	}
	if eb.Error.Code.Status() != status {
		t.Fatalf("code %s with status %d", eb.Error.Code, status)
	}
	return eb.Error.Code
}

func (stReg) SubjectCertRevoked(string, string) bool { return false }
