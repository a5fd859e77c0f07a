package server

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// Limits on a query's contents.
const (
	maxRequestIDLen = 128
	maxCategories   = 32
)

// Options configures a Provider. Every field is required unless noted.
type Options struct {
	ID           string // this node's member id
	Jurisdiction string
	Keys         *keys.NodeKeys
	Registries   Registries
	Store        Store
	Policy       Decider
	// QueryLimits are the policy's fair-use limits; default: Policy's own,
	// if it has them (a policy.Holder). New refuses a provider without
	// them, which would enforce none.
	QueryLimits QueryLimits
	// Catalog maps each category this node provides to its sharing level.
	Catalog map[string]string
	Skew    time.Duration
	Clock   func() time.Time // defaults to time.Now
	Logger  *slog.Logger     // defaults to slog.Default()
	// Observer, if set, is told every query's outcome (metrics).
	Observer QueryObserver

	// Sequencer, if set, takes the inquiry-log appends (the node's
	// tamper-evident log sequencer); by default they go to Store.
	Sequencer Sequencer
	// Log, if set, serves the inquiry log's checkpoint and proofs.
	Log LogProofs
	// OutboundLog, if set, serves the requester's outbound log's checkpoint
	// and proofs (tlog_outbound.go).
	OutboundLog LogProofs

	// Subject rights and retention (rights.go). Rights defaults to Store
	// when it implements RightsStore; without one, the objection, repair
	// and status endpoints answer not_found and self reads are not counted.
	Rights RightsStore
	// Categories says which categories are negative (retention); defaults
	// to the embedded category schemas.
	Categories rights.Negatives
	// FreeReportsPerYear is how many reports a subject gets free per
	// calendar year (art. 17); DefaultFreeReportsPerYear if 0. Reads of
	// one's own inquiry log are not reports and spend none.
	FreeReportsPerYear int
	// SubjectReads limits each subject's reads of its own inquiry log (a
	// token bucket per subject id, kept in memory); the zero value means
	// DefaultSubjectReadsPerHour and DefaultSubjectReadBurst, a negative
	// PerHour no limit.
	SubjectReads SubjectReadLimit

	// SubjectProofs, if set, adds to each subject's log the proof that it
	// is complete up to a witnessed checkpoint (node/subjectlog).
	SubjectProofs SubjectProver

	// MemberRoutes, if set, adds routes (ServeMux pattern → handler) to the
	// member API, behind its mutual TLS and body limit: e.g. the signed
	// catalogue (node/catalog). They must not shadow the routes above.
	MemberRoutes map[string]http.Handler

	// AnswerWithin, if positive, bounds the provider's own work on one
	// request (answerContext): waits on the store and the log end then, so
	// a provider whose store or log is stuck answers its code
	// (store_unavailable, log_unavailable) while the requester still
	// listens. It must be shorter than the requesters' request timeout.
	AnswerWithin time.Duration
}

// Provider answers queries and subject requests.
type Provider struct {
	opts Options
	log  *slog.Logger
	inq  *gate.Inquiries // every inquiry-log append goes through it (readiness reads its health)
	// preAuth bounds the log cost of subject requests refused before any
	// signature verified (nil: each is logged on its own).
	preAuth *gate.PreAuth
	// subjectReads holds a token bucket per subject for reads of its own
	// log (nil: unlimited).
	subjectReads *subjectLimiter
}

// New makes a Provider.
func New(opts Options) (*Provider, error) {
	switch {
	case opts.ID == "":
		return nil, errors.New("server: ID is required")
	case opts.Keys == nil, opts.Registries == nil, opts.Store == nil, opts.Policy == nil:
		return nil, errors.New("server: Keys, Registries, Store and Policy are required")
	case opts.Skew <= 0:
		return nil, errors.New("server: Skew must be positive")
	}
	if opts.QueryLimits == nil {
		opts.QueryLimits, _ = opts.Policy.(QueryLimits)
	}
	if opts.QueryLimits == nil {
		return nil, errors.New("server: QueryLimits is required (the policy's fair-use limits)")
	}
	if opts.Rights == nil {
		opts.Rights, _ = opts.Store.(RightsStore)
	}
	if opts.Categories == nil {
		v, err := schemas.NewCategoryValidator()
		if err != nil {
			return nil, err
		}
		opts.Categories = v
	}
	if opts.FreeReportsPerYear == 0 {
		opts.FreeReportsPerYear = DefaultFreeReportsPerYear
	}
	if opts.Sequencer == nil {
		opts.Sequencer = opts.Store
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	inq := gate.NewInquiries(opts.Sequencer, opts.Logger, opts.Clock)
	opts.Sequencer = inq.Sequencer()
	preAuth := gate.NewPreAuth(inq, 0, 0)
	if c, ok := opts.Observer.(gate.RefusalCounter); ok { // the node's metrics
		preAuth.Counting(c)
	}
	return &Provider{opts: opts, log: opts.Logger, inq: inq, preAuth: preAuth,
		subjectReads: opts.SubjectReads.limiter(opts.Clock)}, nil
}

// Answer is what goes back to the caller: either a body with a status, or an
// error carrying a wire code. LogIndex is the inquiry-log entry recording it.
type Answer struct {
	Body        []byte
	ContentType string
	LogIndex    *uint64
	RequestID   string
	Err         *schemas.Error
}

// inquiry carries what is known about a query as the checks progress; what is
// known is what goes into its log entry.
type inquiry struct {
	kind          string // schemas.KindQuery if empty
	peer          string
	peerOrg       string
	requestDigest string
	claims        *schemas.QueryClaims // set once the signature verified
	consentID     string
	approvalCase  string // case id of the special approval, once verified
	usesLeft      int    // of the consent, before this query
	decision      *policy.Result
	input         policy.Input // what the policy decided on, once built
}

func (q *inquiry) entry(now time.Time) schemas.InquiryEntry {
	e := schemas.InquiryEntry{
		Time:          now.UTC().Format(time.RFC3339Nano),
		Kind:          schemas.KindQuery,
		Requester:     q.peer,
		RequesterOrg:  q.peerOrg,
		RequestDigest: q.requestDigest,
		ConsentID:     q.consentID,
		ApprovalCase:  q.approvalCase,
		Decision:      schemas.DecisionDeny,
	}
	if q.kind != "" {
		e.Kind = q.kind
	}
	if c := q.claims; c != nil {
		e.RequestID = c.ID
		e.Subject = c.Subject
		e.Purpose = c.Purpose
		e.Categories = c.Categories
		e.BusinessRefDigest = c.Ref
	}
	if d := q.decision; d != nil {
		e.DecisionID = d.DecisionID
		e.PolicyRevision = d.Revision
		e.Reasons = d.Reasons
		e.Obligations = obligationsJSON(d.Obligations)
	}
	return e
}

// Query handles a signed query from the authenticated TLS peer peerID.
func (p *Provider) Query(ctx context.Context, peerID string, body []byte) (a Answer) {
	now := p.opts.Clock()
	q := &inquiry{peer: peerID, requestDigest: inquirylog.Digest(body)}
	defer func() { p.observeQuery(q, &a) }()
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry"))
	}
	if m, ok := reg.Member(peerID); ok {
		q.peerOrg = m.Organisation
	}
	if e := p.authenticate(reg, q, body, now); e != nil {
		return p.deny(ctx, q, e)
	}
	c := q.claims
	if e := gate.CheckReplay(ctx, p.opts.Store, peerID, c.ID); e != nil {
		return p.deny(ctx, q, e)
	}
	var cons *consent.Consent
	if c.Consent != "" { // a missing consent is for the policy to judge
		var e *schemas.Error
		cons, q.usesLeft, e = gate.CheckConsent(ctx, p.opts.Store, reg, c.Consent,
			consent.Expectation{Requester: q.peer, Provider: p.opts.ID, Subject: c.Subject}, now, p.opts.Skew)
		if cons != nil {
			q.consentID = cons.Claims.ID
		}
		if e != nil {
			return p.deny(ctx, q, e)
		}
	}
	appr, e := p.checkApproval(reg, q, now)
	if e != nil {
		return p.deny(ctx, q, e)
	}
	in := p.policyInput(reg, c, cons, q.usesLeft, now)
	addApproval(&in, appr)
	if e := p.addFairUse(ctx, &in, cons, now); e != nil {
		return p.deny(ctx, q, e)
	}
	res, err := p.opts.Policy.Decide(ctx, in)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated"))
	}
	q.decision, q.input = &res, in
	if !res.Allow {
		return p.deny(ctx, q, policyDenial(res, in))
	}
	return p.release(ctx, reg, q, cons, now)
}

// authenticate runs the first checks: profile, key of the TLS peer,
// signature, claims shape, issuer, audience, issued-at.
func (p *Provider) authenticate(reg RegistryView, q *inquiry, body []byte, now time.Time) *schemas.Error {
	var c schemas.QueryClaims
	if e := gate.VerifyRequest(reg, q.peer, body, schemas.TypQuery, &c); e != nil {
		return e
	}
	if e := gate.CheckIssuer(c.Issuer, q.peer); e != nil {
		return e
	}
	if c.ID == "" || len(c.ID) > maxRequestIDLen {
		return schemas.Errorf(schemas.CodeMalformedRequest, "jti must be 1..%d characters", maxRequestIDLen)
	}
	subject, subjectType, err := records.NormalizeSubject(c.Subject)
	if err != nil {
		return schemas.Wrap(schemas.CodeMalformedRequest, err, "bad subject id")
	}
	if c.SubjectType != "" && c.SubjectType != subjectType {
		return schemas.Errorf(schemas.CodeMalformedRequest, "sub_type does not match the subject id")
	}
	c.Subject, c.SubjectType = subject, subjectType
	if len(c.Categories) == 0 || len(c.Categories) > maxCategories {
		return schemas.Errorf(schemas.CodeMalformedRequest, "categories must list 1..%d names", maxCategories)
	}
	if !schemas.UniqueNames(c.Categories) {
		return schemas.Errorf(schemas.CodeMalformedRequest, "categories must be unique and non-empty")
	}
	if c.Ref != "" && !schemas.IsHexDigest(c.Ref) {
		return schemas.Errorf(schemas.CodeMalformedRequest, "ref must be 64 lower-case hex digits")
	}
	q.claims = &c // authenticated: from here the entry names the subject
	return gate.CheckAudienceAndSkew(p.opts.ID, c.Audience, c.IssuedAt, now, p.opts.Skew)
}

func (p *Provider) policyInput(reg RegistryView, c *schemas.QueryClaims, cons *consent.Consent, usesLeft int, now time.Time) policy.Input {
	in := gate.PolicyInput(reg, c.Issuer, gate.Self{ID: p.opts.ID, Jurisdiction: p.opts.Jurisdiction}, c.Purpose, now)
	in.Subject.ID, in.Subject.Type = c.Subject, c.SubjectType
	gate.AddCategories(&in, c.Categories, p.opts.Catalog)
	gate.AddConsent(&in, cons, usesLeft)
	return in
}

// release projects the records, logs the inquiry durably (consuming a consent
// use and the request id in the same transaction), then signs and encrypts.
func (p *Provider) release(ctx context.Context, reg RegistryView, q *inquiry, cons *consent.Consent, now time.Time) Answer {
	c := q.claims
	recs, err := p.opts.Store.Records(ctx, c.Subject, c.Categories)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	recs, disputed, err := p.screen(ctx, c.Subject, recs, q.decision, now)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	if recs, err = p.screenPublication(ctx, q.input, recs, now); err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated"))
	}
	if recs, err = filterDataRange(recs, q.decision.Obligations); err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy obligations unusable"))
	}
	out := make([]schemas.RecordOut, 0, len(recs))
	for _, r := range recs {
		data, err := records.Project(r.Data, q.decision.Fields[r.Category])
		if err != nil {
			return p.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "record projection failed"))
		}
		out = append(out, schemas.RecordOut{Category: r.Category, ID: r.ID, Data: data,
			Disputed: disputed[store.RecordKey{Category: r.Category, ID: r.ID}]})
	}
	digest, err := inquirylog.RecordsDigest(out)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "digest failed"))
	}
	recipient, recipientKID, ok := reg.EncryptionKey(q.peer)
	if !ok {
		return p.deny(ctx, q, schemas.Errorf(schemas.CodeUnknownMember, "requester has no registered encryption key"))
	}
	entry := q.entry(now)
	entry.Decision = schemas.DecisionAllow
	entry.RecordsDigest = digest
	leaf, err := inquirylog.NewLeaf(entry, now)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "log entry could not be made"))
	}
	commit := store.Commit{Requester: q.peer, RequestID: c.ID, Leaf: leaf}
	if cons != nil {
		commit.ConsentID, commit.MaxUses = cons.Claims.ID, cons.Claims.MaxUses
	}
	app, err := p.opts.Sequencer.CommitInquiry(ctx, commit)
	if e := gate.CommitRefusal(err); e != nil {
		return p.deny(ctx, q, e)
	}
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable"))
	}
	resp := schemas.QueryResponse{
		RequestID: c.ID,
		Issuer:    p.opts.ID,
		Audience:  q.peer,
		IssuedAt:  now.Unix(),
		Subject:   c.Subject,
		Purpose:   c.Purpose,
		Decision: schemas.Decision{
			ID:             q.decision.DecisionID,
			PolicyRevision: q.decision.Revision,
			Allow:          true,
			Reasons:        q.decision.Reasons,
			Obligations:    q.decision.Obligations,
			Fields:         q.decision.Fields,
		},
		Records: out,
		Receipt: schemas.Receipt{Provider: p.opts.ID, LogIndex: app.Index, LeafHash: hex.EncodeToString(app.LeafHash), RecordsDigest: digest},
	}
	sealed, e := gate.SealAnswer(p.opts.Keys, schemas.TypResponse, resp, recipient, recipientKID)
	if e != nil {
		return p.fail(q, e)
	}
	idx := app.Index
	p.log.LogAttrs(ctx, slog.LevelInfo, "query answered",
		slog.String("request_id", c.ID), slog.String("requester", q.peer), slog.String("purpose", c.Purpose),
		slog.Int("records", len(out)), slog.Uint64("log_index", idx), slog.String("records_digest", digest))
	return Answer{Body: sealed, ContentType: schemas.ContentTypeJOSE, LogIndex: &idx, RequestID: c.ID}
}

// deny logs a denied inquiry and answers with its code. If the log append
// fails, the answer is log_unavailable instead: nothing leaves unlogged.
func (p *Provider) deny(ctx context.Context, q *inquiry, e *schemas.Error) Answer {
	return failed(p.inq.Deny(ctx, q.entry(p.opts.Clock()), e))
}

// fail answers without a log entry: only for failures of the log itself.
func (p *Provider) fail(q *inquiry, e *schemas.Error) Answer {
	return failed(p.inq.FailClosed(context.Background(), q.entry(p.opts.Clock()), e))
}

// failed is the Answer of a gate.Failure.
func failed(f gate.Failure) Answer {
	return Answer{RequestID: f.RequestID, LogIndex: f.LogIndex, Err: f.Err}
}
