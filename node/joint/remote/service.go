package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// Routes of the member API.
const (
	RoutePropose = "POST /v1/joint/propose"
	RouteStep    = "POST /v1/joint/step"
	RouteFinish  = "POST /v1/joint/finish"
	RouteCancel  = "POST /v1/joint/cancel"
	RouteStatus  = "POST /v1/joint/status"
)

// Paths, for clients.
const (
	PathPropose = "/v1/joint/propose"
	PathStep    = "/v1/joint/step"
	PathFinish  = "/v1/joint/finish"
	PathCancel  = "/v1/joint/cancel"
	PathStatus  = "/v1/joint/status"
)

const (
	maxIDLen      = 128
	maxCategories = 32
	maxLabelLen   = 512
	// jobSubject stands in for the subject in the policy input of a job proposal: a job is
	// about no single subject.
	jobSubject = "joint-job"
	// logWorkers bounds the concurrent appends of per-enterprise entries; the sequencer
	// commits concurrent appends together.
	logWorkers = 32
	// defaultMaxHosts is Options.MaxHosts by default.
	defaultMaxHosts = 64
)

// Requests is what the service needs of the store besides jobs: replay and consent checks.
type Requests interface {
	RequestSeen(ctx context.Context, requester, requestID string) (bool, error)
	Revoked(ctx context.Context, subject, consentID string) (bool, error)
	ConsentUses(ctx context.Context, subject, consentID string) (int, error)
}

// Options configures a Service. Every field is required unless noted.
type Options struct {
	ID           string // this node's member id
	Jurisdiction string
	Keys         *keys.NodeKeys
	Registries   gate.Registries
	Sequencer    gate.Sequencer // the inquiry log
	Policy       gate.Decider
	Catalog      map[string]string // category → sharing level
	Jobs         JobStore
	Requests     Requests
	Data         DataSource
	Host         joint.HostOptions // the host's protocol limits (and, in tests only, small keys)
	Aggregates   *AggregateOptions // optional: serve aggregate statistics (aggregate.go)
	Skew         time.Duration
	// MaxHosts bounds the joint.Hosts (each with its copy of the data set) kept in memory;
	// beyond it one is evicted and rebuilt from the store on its job's next step. Default 64.
	MaxHosts int
	Clock    func() time.Time // defaults to time.Now
	Logger   *slog.Logger     // defaults to slog.Default()
}

// Service is the host side of joint modelling jobs over the member API. It keeps one
// joint.Host per active job in memory, rebuilt from the store after a restart.
type Service struct {
	opts Options
	inq  *gate.Inquiries

	mu    sync.Mutex
	hosts map[string]*joint.Host // by guest + "\x00" + job; active jobs only, at most MaxHosts
	jobMu map[string]*jobLock    // serialises the steps of one job; only while requests hold it
	setMu map[string]*sync.Mutex // by aggregate dataset: serialises the check-and-record of query sets
}

// jobLock is a job's mutex and the number of requests holding or waiting for it.
type jobLock struct {
	mu   sync.Mutex
	refs int
}

// New makes a Service.
func New(opts Options) (*Service, error) {
	switch {
	case opts.ID == "" || opts.Keys == nil || opts.Registries == nil || opts.Sequencer == nil || opts.Policy == nil:
		return nil, errors.New("remote: ID, Keys, Registries, Sequencer and Policy are required")
	case opts.Jobs == nil || opts.Requests == nil || opts.Data == nil:
		return nil, errors.New("remote: Jobs, Requests and Data are required")
	case opts.Skew <= 0:
		return nil, errors.New("remote: Skew must be positive")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxHosts <= 0 {
		opts.MaxHosts = defaultMaxHosts
	}
	inq := gate.NewInquiries(opts.Sequencer, opts.Logger, opts.Clock)
	opts.Sequencer = inq.Sequencer()
	return &Service{opts: opts, inq: inq, hosts: map[string]*joint.Host{}, jobMu: map[string]*jobLock{}, setMu: map[string]*sync.Mutex{}}, nil
}

// Routes returns the member-API routes (for server.Options.MemberRoutes).
func (s *Service) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		RoutePropose:   s.handler(schemas.JointOpPropose),
		RouteStep:      s.handler(schemas.JointOpStep),
		RouteFinish:    s.handler(schemas.JointOpFinish),
		RouteCancel:    s.handler(schemas.JointOpCancel),
		RouteStatus:    s.handler(schemas.JointOpStatus),
		RouteAggregate: s.handler(schemas.JointOpAggregate),
	}
}

// answer is a handled request: a sealed body, or a wire error; logIndex is the request's entry.
type answer struct {
	body     []byte
	logIndex *uint64
	reqID    string
	err      *schemas.Error
}

// handler serves one route. Every refusal it can attribute is logged, with no valid registry
// against the client's certificate (gate.RefusalRequester): it is a gate.LoggedRoute.
func (s *Service) handler(op string) http.Handler {
	return gate.LoggedRoute{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := s.serve(w, r, op)
		if a.err == nil {
			gate.WriteBody(w, schemas.ContentTypeJOSE, a.body)
			return
		}
		gate.WriteError(w, r, s.opts.Logger, gate.Failure{Err: a.err, RequestID: a.reqID, LogIndex: a.logIndex})
	})}
}

// request carries what is known about a request as the checks progress.
type request struct {
	op      string
	peer    string
	peerOrg string
	digest  string
	claims  *schemas.JointRequest
	job     *Job
	step    string // the protocol step, for the log
	subject string // the applicant scored, if any
}

func (q *request) entry(now time.Time) schemas.InquiryEntry {
	e := schemas.InquiryEntry{Time: now.UTC().Format(time.RFC3339Nano), Kind: schemas.KindJointModeling,
		Requester: q.peer, RequesterOrg: q.peerOrg, RequestDigest: q.digest, Decision: schemas.DecisionDeny,
		Purpose: PurposeJointModeling, Subject: q.subject}
	if c := q.claims; c != nil {
		e.RequestID = c.ID
		step := q.step
		if step == "" {
			step = c.Op
		}
		e.Outcome = fmt.Sprintf("joint modelling job %s, step %s", c.Job, step)
		e.Categories = c.Categories
	}
	if j := q.job; j != nil {
		e.Categories = j.Categories
		e.DecisionID, e.PolicyRevision = j.DecisionID, j.PolicyRevision
	}
	return e
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request, op string) answer {
	ctx := r.Context()
	now := s.opts.Clock()
	q := &request{op: op}
	pr, e := gate.PeerOf(r, s.opts.Registries, now)
	if id := gate.RefusalRequester(r, e); id != "" {
		// No valid registry to name the member: logged against its certificate.
		q.peer = id
		return s.deny(ctx, q, e)
	}
	if e != nil {
		return answer{err: e}
	}
	reg, peer := pr.Registry, pr.ID
	q.peer, q.peerOrg = peer, pr.Org
	body, e := gate.ReadBody(w, r, 0) // within the member mux's limit
	if e != nil {
		return s.deny(ctx, q, e)
	}
	q.digest = inquirylog.Digest(body)
	if e := s.authenticate(reg, q, body, now); e != nil {
		return s.deny(ctx, q, e)
	}
	if e := gate.CheckReplay(ctx, s.opts.Requests, peer, q.claims.ID); e != nil {
		return s.deny(ctx, q, e)
	}
	switch op {
	case schemas.JointOpPropose:
		return s.propose(ctx, reg, q, now)
	case schemas.JointOpAggregate:
		return s.aggregateStat(ctx, reg, q, now)
	}
	// The job is looked up before its lock is made, so that unknown ids allocate nothing;
	// it is read again under the lock, for its state may have moved meanwhile. Jobs are
	// looked up by (requester, id): another member's job is job_unknown, as an unknown one.
	if job, err := s.opts.Jobs.JointJob(ctx, peer, q.claims.Job); errors.Is(err, store.ErrNotFound) {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobUnknown, "no such job"))
	} else if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	} else if op == schemas.JointOpStatus {
		// A status reads the stored job without its lock: it changes nothing and must not
		// wait behind a long step. The store keeps every step's state before it answers.
		q.job = &job
		return s.status(ctx, reg, q, now)
	}
	unlock := s.lockJob(peer, q.claims.Job)
	defer unlock()
	job, err := s.opts.Jobs.JointJob(ctx, peer, q.claims.Job)
	if errors.Is(err, store.ErrNotFound) {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobUnknown, "no such job"))
	}
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	q.job = &job
	switch job.State {
	case schemas.JobCancelled:
		s.drop(&job)
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobCancelled, "the job was cancelled"))
	case schemas.JobFailed:
		s.drop(&job)
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobState, "the job failed"))
	}
	switch op {
	case schemas.JointOpCancel:
		if job.State == schemas.JobDone {
			return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobState, "the job is done"))
		}
		return s.transition(ctx, reg, q, schemas.JobCancelled, nil, nil, now)
	case schemas.JointOpFinish:
		if job.State != schemas.JobTraining {
			return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobState, "the job is %s, not training", job.State))
		}
		return s.transition(ctx, reg, q, schemas.JobDone, job.Session, nil, now)
	}
	return s.step(ctx, reg, q, now)
}

// authenticate checks the request token: a registered key of the TLS peer, its signature, the
// claims, issuer, audience, issued-at and the route's operation.
func (s *Service) authenticate(reg gate.RegistryView, q *request, body []byte, now time.Time) *schemas.Error {
	var c schemas.JointRequest
	if e := gate.VerifyRequest(reg, q.peer, body, schemas.TypJointRequest, &c); e != nil {
		return e
	}
	if e := gate.CheckIssuer(c.Issuer, q.peer); e != nil {
		return e
	}
	if c.ID == "" || len(c.ID) > maxIDLen || c.Job == "" || len(c.Job) > maxIDLen {
		return schemas.Errorf(schemas.CodeMalformedRequest, "jti and job must be 1..%d characters", maxIDLen)
	}
	if c.Op != q.op {
		return schemas.Errorf(schemas.CodeMalformedRequest, "op %q sent to the %s route", c.Op, q.op)
	}
	q.claims = &c
	return gate.CheckAudienceAndSkew(s.opts.ID, c.Audience, c.IssuedAt, now, s.opts.Skew)
}

func (s *Service) propose(ctx context.Context, reg gate.RegistryView, q *request, now time.Time) answer {
	c := q.claims
	switch {
	case c.Purpose != PurposeJointModeling:
		return s.deny(ctx, q, schemas.Errorf(schemas.CodePurposeNotPermitted, "a job's purpose is joint_modeling"))
	case len(c.Categories) == 0 || len(c.Categories) > maxCategories || !schemas.UniqueNames(c.Categories):
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "categories must list 1..%d distinct names", maxCategories))
	case c.Label == "" || len(c.Label) > maxLabelLen || c.Cohort <= 0 || !slices.Contains(c.Hosts, s.opts.ID):
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "a job needs a label definition, a cohort size and hosts naming this node"))
	}
	res, err := s.opts.Policy.Decide(ctx, s.jobInput(reg, q.peer, c.Categories, now))
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated"))
	}
	job := &Job{ID: c.Job, Guest: q.peer, Categories: c.Categories, Label: c.Label, Cohort: c.Cohort, Hosts: c.Hosts,
		State: schemas.JobProposed, DecisionID: res.DecisionID, PolicyRevision: res.Revision, Created: now, Updated: now}
	q.job = job
	if !res.Allow {
		return s.deny(ctx, q, schemas.Errorf(res.WireCode(), "denied by policy: %s", strings.Join(res.Reasons, ", ")))
	}
	if err := s.checkData(ctx, job); err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeCategoryUnknown, err, "no joint-modelling data for these categories"))
	}
	if err := s.opts.Jobs.CreateJointJob(ctx, *job); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobState, "job id already used"))
		}
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	return s.allow(ctx, reg, q, nil, store.Commit{}, nil, now)
}

// status answers where a job stands: its terms as the guest proposed them, its state, the
// regression iterations done and when it last changed. Only the job's guest gets here (jobs
// are looked up by requester); no records, features, aggregates or cohort leave. The request
// is logged like any other (no enterprise's data is used).
func (s *Service) status(ctx context.Context, reg gate.RegistryView, q *request, now time.Time) answer {
	c, job := q.claims, q.job
	if c.Purpose != "" || len(c.Categories) > 0 || c.Label != "" || c.Cohort != 0 || len(c.Hosts) > 0 ||
		len(c.Message) > 0 || c.Consent != "" || c.Aggregate != nil {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "a status request carries only the job id"))
	}
	st := schemas.JointStatus{Job: job.ID, Guest: job.Guest, State: job.State, Categories: job.Categories, Cohort: job.Cohort,
		Hosts: job.Hosts, Created: job.Created.UTC().Format(time.RFC3339), Updated: job.Updated.UTC().Format(time.RFC3339)}
	if job.Session != nil {
		var sess struct {
			Iter int `json:"iter"`
		}
		if err := json.Unmarshal(job.Session, &sess); err != nil {
			return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "stored job state"))
		}
		st.Iterations = &sess.Iter
	} else if job.State == schemas.JobProposed {
		zero := 0
		st.Iterations = &zero
	}
	msg, err := json.Marshal(st)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "encode answer"))
	}
	return s.allow(ctx, reg, q, msg, store.Commit{}, nil, now)
}

// jobInput is the policy input of a job (or an aggregate): purpose joint_modeling, the
// categories at their levels, no subject and no consent.
func (s *Service) jobInput(reg gate.RegistryView, peer string, categories []string, now time.Time) policy.Input {
	in := gate.PolicyInput(reg, peer, s.self(), PurposeJointModeling, now)
	in.Subject.ID, in.Subject.Type = jobSubject, schemas.SubjectEnterprise
	gate.AddCategories(&in, categories, s.opts.Catalog)
	return in
}

// redecide runs the policy again for a step of a running job: a policy revision, or a change
// of the guest's roles or jurisdiction in the registry, since the proposal must stop the job.
// The step is logged under this decision (q.job is the request's copy; the store keeps the
// proposal's decision).
func (s *Service) redecide(ctx context.Context, reg gate.RegistryView, q *request, now time.Time) *schemas.Error {
	job := q.job
	res, err := s.opts.Policy.Decide(ctx, s.jobInput(reg, job.Guest, job.Categories, now))
	if err != nil {
		return schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated")
	}
	proposed := job.PolicyRevision
	job.DecisionID, job.PolicyRevision = res.DecisionID, res.Revision
	if !res.Allow {
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "joint step denied by policy re-decision", slog.String("requester", job.Guest),
			slog.String("job", job.ID), slog.String("proposed_revision", proposed), slog.String("revision", res.Revision),
			slog.String("reasons", strings.Join(res.Reasons, ", ")))
		return schemas.Errorf(res.WireCode(), "denied by policy (re-decided at this step): %s", strings.Join(res.Reasons, ", "))
	}
	return nil
}

// step runs one protocol message.
func (s *Service) step(ctx context.Context, reg gate.RegistryView, q *request, now time.Time) answer {
	c, job := q.claims, q.job
	msg, err := joint.Unmarshal(c.Message)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeMalformedRequest, err, "not a joint protocol message"))
	}
	q.step = msg.Kind()
	if jobOf(msg) != job.ID {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "message names another job"))
	}
	if e := s.redecide(ctx, reg, q, now); e != nil {
		return s.deny(ctx, q, e)
	}
	sr, isScore := msg.(*joint.ScoreRequest)
	applicant := isScore && sr.Applicant != ""
	if job.State == schemas.JobDone && !applicant {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeJobState, "the job is done: only applicants may be scored"))
	}
	var commit store.Commit
	if applicant {
		subj, _, err := records.NormalizeSubject(sr.Applicant)
		if err != nil {
			return s.deny(ctx, q, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad applicant id"))
		}
		sr.Applicant, q.subject = subj, subj
		cons, e := s.checkConsent(ctx, reg, q, subj, now)
		if e != nil {
			return s.deny(ctx, q, e)
		}
		commit.ConsentID, commit.MaxUses = cons.Claims.ID, cons.Claims.MaxUses
	}
	h, err := s.hostFor(ctx, job)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "job state could not be restored"))
	}
	// Who is used, named before the host computes (the cohort step names its members).
	var used []string
	switch m := msg.(type) {
	case *joint.AlignRequest:
		used = h.IDs()
	case *joint.CohortRequest:
		if used, err = h.Identifiers(job.ID, m.Members); err != nil {
			return s.refuse(ctx, reg, q, err, now)
		}
		if len(used) > job.Cohort {
			return s.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "cohort of %d members, the job proposed %d", len(used), job.Cohort))
		}
	case *joint.ScoreRequest:
		if applicant {
			used = []string{m.Applicant}
		} else if used, err = h.Identifiers(job.ID, m.Members); err != nil {
			return s.refuse(ctx, reg, q, err, now)
		}
	}
	resp, err := h.Handle(ctx, msg)
	if applicant && errors.Is(err, joint.ErrUnknownMember) {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeNotFound, "the applicant is not in this host's data"))
	}
	if err != nil {
		return s.refuse(ctx, reg, q, err, now)
	}
	state := job.State
	switch m := msg.(type) {
	case *joint.AlignRequest:
		state = schemas.JobAligned
	case *joint.BinRequest:
		state = schemas.JobBinned
	case *joint.PartialRequest:
		state = schemas.JobTraining
		if m.Iter == 0 {
			used, _ = cohortOf(h, job.ID)
		}
	}
	if _, ok := msg.(*joint.BinRequest); ok {
		used, _ = cohortOf(h, job.ID)
	}
	sess, err := h.Session(job.ID)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "job state"))
	}
	sessJSON, err := json.Marshal(sess)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "job state"))
	}
	if err := s.opts.Jobs.UpdateJointJob(ctx, job.Guest, job.ID, state, sessJSON, now); err != nil {
		s.drop(job) // memory is ahead of the store: rebuild from the store on the next step
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	job.State = state
	wire, err := joint.Marshal(resp)
	if err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "encode answer"))
	}
	if applicant {
		return s.allow(ctx, reg, q, wire, commit, nil, now) // the applicant's entry is the request's
	}
	return s.allow(ctx, reg, q, wire, commit, used, now)
}

// refuse maps a protocol error: a deviating guest fails the job; steps out of order do not.
func (s *Service) refuse(ctx context.Context, reg gate.RegistryView, q *request, err error, now time.Time) answer {
	switch {
	case errors.Is(err, joint.ErrOrder), errors.Is(err, joint.ErrUnknownJob):
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeJobState, err, "step out of order for this job"))
	case errors.Is(err, joint.ErrMalformed), errors.Is(err, joint.ErrKey), errors.Is(err, joint.ErrUnknownMember), errors.Is(err, joint.ErrCohortTooSmall):
		if u := s.opts.Jobs.UpdateJointJob(ctx, q.job.Guest, q.job.ID, schemas.JobFailed, nil, now); u != nil {
			return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, u, "store unavailable"))
		}
		s.drop(q.job)
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeMalformedRequest, err, "step refused; the job failed"))
	}
	return s.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "step failed"))
}

// transition moves a job to a terminal or done state (cancel, finish).
func (s *Service) transition(ctx context.Context, reg gate.RegistryView, q *request, state string, session []byte, used []string, now time.Time) answer {
	if err := s.opts.Jobs.UpdateJointJob(ctx, q.job.Guest, q.job.ID, state, session, now); err != nil {
		return s.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	if state == schemas.JobCancelled || state == schemas.JobDone {
		s.drop(q.job) // a done job's host is rebuilt from its stored session to score applicants
	}
	q.job.State = state
	return s.allow(ctx, reg, q, nil, store.Commit{}, used, now)
}

func (s *Service) checkConsent(ctx context.Context, reg gate.RegistryView, q *request, subject string, now time.Time) (*consent.Consent, *schemas.Error) {
	c, job := q.claims, q.job
	if c.Consent == "" {
		return nil, schemas.Errorf(schemas.CodeConsentMissing, "scoring an applicant needs the applicant's consent")
	}
	cons, left, e := gate.CheckConsent(ctx, s.opts.Requests, reg, c.Consent, consent.Expectation{Requester: q.peer,
		Provider: s.opts.ID, Subject: subject, Purpose: PurposeJointModeling, Categories: job.Categories}, now, s.opts.Skew)
	if e != nil {
		return nil, e
	}
	in := gate.PolicyInput(reg, q.peer, s.self(), PurposeJointModeling, now)
	in.Subject.ID, in.Subject.Type = subject, schemas.SubjectEnterprise
	gate.AddCategories(&in, job.Categories, s.opts.Catalog)
	gate.AddConsent(&in, cons, left)
	res, err := s.opts.Policy.Decide(ctx, in)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated")
	}
	if !res.Allow {
		return nil, schemas.Errorf(res.WireCode(), "denied by policy: %s", strings.Join(res.Reasons, ", "))
	}
	return cons, nil
}

// allow logs the request (committing its id, and a consent use if any) and every enterprise
// used, then signs and encrypts the answer.
func (s *Service) allow(ctx context.Context, reg gate.RegistryView, q *request, msg []byte, commit store.Commit, used []string, now time.Time) answer {
	c := q.claims
	recipient, kid, ok := reg.EncryptionKey(q.peer)
	if !ok {
		return s.deny(ctx, q, schemas.Errorf(schemas.CodeUnknownMember, "requester has no registered encryption key"))
	}
	entry := q.entry(now)
	entry.Decision = schemas.DecisionAllow
	entry.ConsentID = commit.ConsentID
	leaf, err := inquirylog.NewLeaf(entry, now)
	if err != nil {
		return s.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "log entry could not be made"))
	}
	commit.Requester, commit.RequestID, commit.Leaf = q.peer, c.ID, leaf
	app, err := s.opts.Sequencer.CommitInquiry(ctx, commit)
	if e := gate.CommitRefusal(err); e != nil {
		return s.deny(ctx, q, e)
	}
	if err != nil {
		return s.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable"))
	}
	if err := s.logUsed(ctx, q, used, now); err != nil {
		return s.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable"))
	}
	ans := schemas.JointAnswer{RequestID: c.ID, Issuer: s.opts.ID, Audience: q.peer, IssuedAt: now.Unix(), Job: c.Job,
		State: q.job.State, Message: msg, LogIndex: app.Index}
	if c.Op == schemas.JointOpPropose {
		ans.DecisionID, ans.PolicyRevision = q.job.DecisionID, q.job.PolicyRevision
	}
	sealed, e := gate.SealAnswer(s.opts.Keys, schemas.TypJointAnswer, ans, recipient, kid)
	if e != nil {
		return s.fail(q, e)
	}
	idx := app.Index
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "joint request answered", slog.String("request_id", c.ID),
		slog.String("requester", q.peer), slog.String("job", c.Job), slog.String("op", c.Op), slog.String("step", q.step),
		slog.Int("enterprises_logged", len(used)), slog.Uint64("log_index", idx))
	return answer{body: sealed, logIndex: &idx, reqID: c.ID}
}

// logUsed appends one entry per enterprise used, concurrently so the sequencer batches them.
func (s *Service) logUsed(ctx context.Context, q *request, used []string, now time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make(chan string)
	errs := make(chan error, logWorkers)
	var wg sync.WaitGroup
	for range min(logWorkers, len(used)) {
		wg.Go(func() {
			var first error
			for id := range ids {
				if first != nil {
					continue
				}
				e := q.entry(now)
				e.Decision = schemas.DecisionAllow
				e.Subject = id
				leaf, err := inquirylog.NewLeaf(e, now)
				if err == nil {
					_, err = s.opts.Sequencer.AppendInquiry(ctx, leaf)
				}
				first = err
			}
			errs <- first
		})
	}
	for _, id := range used {
		ids <- id
	}
	close(ids)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// deny logs a refused request and answers with its code; nothing leaves unlogged.
func (s *Service) deny(ctx context.Context, q *request, e *schemas.Error) answer {
	return failed(s.inq.Deny(ctx, q.entry(s.opts.Clock()), e))
}

// fail answers without a log entry: only for failures of the log itself.
func (s *Service) fail(q *request, e *schemas.Error) answer {
	return failed(s.inq.FailClosed(context.Background(), q.entry(s.opts.Clock()), e))
}

func failed(f gate.Failure) answer {
	return answer{logIndex: f.LogIndex, reqID: f.RequestID, err: f.Err}
}

// self is this node as the policy sees it.
func (s *Service) self() gate.Self {
	return gate.Self{ID: s.opts.ID, Jurisdiction: s.opts.Jurisdiction}
}

func (s *Service) checkData(ctx context.Context, job *Job) error {
	data, err := s.opts.Data.JointData(ctx, job.Categories)
	if err != nil {
		return err
	}
	_, err = joint.NewHost(data, s.opts.Host)
	return err
}

// hostFor returns the job's joint.Host, building it from the data source and, after a
// restart, restoring the stored session.
func (s *Service) hostFor(ctx context.Context, job *Job) (*joint.Host, error) {
	key := job.Guest + "\x00" + job.ID
	s.mu.Lock()
	h := s.hosts[key]
	s.mu.Unlock()
	if h != nil {
		return h, nil
	}
	data, err := s.opts.Data.JointData(ctx, job.Categories)
	if err != nil {
		return nil, err
	}
	if h, err = joint.NewHost(data, s.opts.Host); err != nil {
		return nil, err
	}
	if job.Session != nil {
		var st joint.SessionState
		if err := json.Unmarshal(job.Session, &st); err != nil {
			return nil, fmt.Errorf("remote: stored session: %w", err)
		}
		if err := h.Restore(job.ID, &st); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.hosts[key]; prev != nil {
		return prev, nil
	}
	// Evict beyond the bound: every step writes its session to the store before it answers
	// and the steps of a job are serialised, so an evicted host is rebuilt as it was.
	for k := range s.hosts {
		if len(s.hosts) < s.opts.MaxHosts {
			break
		}
		delete(s.hosts, k)
	}
	s.hosts[key] = h
	return h, nil
}

func (s *Service) drop(job *Job) {
	s.mu.Lock()
	delete(s.hosts, job.Guest+"\x00"+job.ID)
	s.mu.Unlock()
}

// lockJob serialises requests of one job (state read, step, state write). The entry lives
// only while requests hold or wait for it.
func (s *Service) lockJob(guest, job string) func() {
	key := guest + "\x00" + job
	s.mu.Lock()
	l := s.jobMu[key]
	if l == nil {
		l = &jobLock{}
		s.jobMu[key] = l
	}
	l.refs++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.jobMu, key)
		}
		s.mu.Unlock()
	}
}

// lockDataset serialises the check-and-record of aggregate query sets on one dataset across
// requests (the engine's own mutex covers one request only). Entries are made only for
// datasets the data source serves.
func (s *Service) lockDataset(dataset string) func() {
	s.mu.Lock()
	m := s.setMu[dataset]
	if m == nil {
		m = &sync.Mutex{}
		s.setMu[dataset] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func cohortOf(h *joint.Host, job string) ([]string, error) {
	st, err := h.Session(job)
	if err != nil {
		return nil, err
	}
	return st.Cohort, nil
}

// jobOf is the job id a protocol message names.
func jobOf(m joint.Message) string {
	switch r := m.(type) {
	case *joint.AlignRequest:
		return r.Job
	case *joint.CohortRequest:
		return r.Job
	case *joint.BinRequest:
		return r.Job
	case *joint.PartialRequest:
		return r.Job
	case *joint.GradientRequest:
		return r.Job
	case *joint.UnmaskRequest:
		return r.Job
	case *joint.ScoreRequest:
		return r.Job
	}
	return ""
}
