package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// ChangeReader reads the provider's change sequence (node/store).
type ChangeReader interface {
	Changes(ctx context.Context, category string, after uint64, limit int) ([]store.Change, error)
}

// RecordFlagger reads the subject-rights flags of a subject's records
// (node/store): removed after an objection, repaired, disputed.
type RecordFlagger interface {
	RecordFlags(ctx context.Context, subject string) (map[store.RecordKey]store.RecordFlags, error)
}

// Negativity says which categories are negative information, subject to
// the 5-year rule (*schemas.CategoryValidator).
type Negativity interface {
	Negative(category string) bool
}

// ProviderOptions configure a Provider.
type ProviderOptions struct {
	ID           string
	Jurisdiction string
	Keys         *keys.NodeKeys
	Registries   gate.Registries
	Changes      ChangeReader
	Log          gate.Sequencer   // the inquiry log: the first leaf of an answer commits its request id
	Seen         gate.ReplayGuard // default: Changes, if it has RequestSeen (both stores do)
	Policy       gate.Decider
	Levels       map[string]string // sharing level per category offered (the catalogue)
	Rights       RecordFlagger     // nil: no objection or repair flags to honour
	Negative     Negativity        // required: the 5-year rule
	Skew         time.Duration     // default 5 minutes
	Clock        func() time.Time  // default time.Now
	Logger       *slog.Logger
}

// Provider serves this node's change feeds.
type Provider struct {
	o   ProviderOptions
	inq *gate.Inquiries
}

// NewProvider checks the options and fills in defaults.
func NewProvider(o ProviderOptions) (*Provider, error) {
	if o.ID == "" || o.Keys == nil || o.Registries == nil || o.Changes == nil || o.Log == nil || o.Policy == nil || o.Negative == nil {
		return nil, errors.New("feeds: ID, Keys, Registries, Changes, Log, Policy and Negative are required")
	}
	if o.Seen == nil {
		g, ok := o.Changes.(gate.ReplayGuard)
		if !ok {
			return nil, errors.New("feeds: Seen is required (Changes has no RequestSeen)")
		}
		o.Seen = g
	}
	if o.Skew == 0 {
		o.Skew = 5 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	inq := gate.NewInquiries(o.Log, o.Logger, o.Clock)
	o.Log = inq.Sequencer()
	return &Provider{o: o, inq: inq}, nil
}

// Handler serves Route on the member API: the TLS layer has required a
// registered client certificate; the handler looks its member up again.
// Once the peer is known, every failure is logged (see deny), an unreadable
// or oversized body too; with no valid registry to name it, the refusal
// (registry_unavailable) is logged against the client's certificate
// (gate.RefusalRequester). It is a gate.LoggedRoute.
func (p *Provider) Handler() http.Handler {
	return gate.LoggedRoute{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, e := gate.PeerOf(r, p.o.Registries, p.o.Clock())
		var res Result
		if id := gate.RefusalRequester(r, e); id != "" {
			res = p.deny(r.Context(), &pull{peer: id}, e)
		} else if e != nil {
			gate.WriteError(w, r, p.o.Logger, gate.Failure{Err: e})
			return
		} else if body, e := gate.ReadBody(w, r, maxRequestBytes); e != nil {
			// The body is unread or cut short: no request digest is logged.
			res = p.deny(r.Context(), &pull{peer: peer.ID, peerOrg: peer.Org}, e)
		} else {
			res = p.Pull(r.Context(), peer.ID, body)
		}
		if res.Err != nil {
			gate.WriteError(w, r, p.o.Logger, gate.Failure{Err: res.Err, RequestID: res.RequestID, LogIndex: res.LogIndex})
			return
		}
		gate.WriteBody(w, ContentTypeAge, res.Sealed)
	})}
}

// Result is the answer to one pull: the sealed batch, or the wire error.
// RequestID is the request's jti once its signature verified; LogIndex is
// the inquiry-log entry recording a denial (nil if it could not be logged).
type Result struct {
	Sealed    []byte
	RequestID string
	LogIndex  *uint64
	Err       *schemas.Error
}

// pull carries what is known about a pull as the checks progress; what is
// known is what goes into its log entry.
type pull struct {
	peer, peerOrg string
	digest        string   // of the request token
	req           *Request // set once the signature verified and the claims decoded
}

func (q *pull) entry(now time.Time) schemas.InquiryEntry {
	en := schemas.InquiryEntry{Time: now.UTC().Format(time.RFC3339Nano), Kind: KindDelivery,
		Requester: q.peer, RequesterOrg: q.peerOrg, Purpose: Purpose, RequestDigest: q.digest,
		Decision: schemas.DecisionDeny}
	if q.req != nil {
		en.RequestID = q.req.ID
		if q.req.Feed != "" {
			en.Categories = []string{q.req.Feed}
		}
	}
	return en
}

func (q *pull) requestID() string {
	if q.req == nil {
		return ""
	}
	return q.req.ID
}

// Serve is Pull returning the sealed batch or the wire error.
func (p *Provider) Serve(ctx context.Context, peer string, body []byte) ([]byte, *schemas.Error) {
	r := p.Pull(ctx, peer, body)
	return r.Sealed, r.Err
}

// Pull answers one pull from the authenticated member peer. Every answer
// that carries records has been logged, per subject, before it is returned,
// the request id committed with the first of those leaves; every denial is
// logged too, or the answer is log_unavailable.
func (p *Provider) Pull(ctx context.Context, peer string, body []byte) Result {
	now := p.o.Clock()
	q := &pull{peer: peer, digest: inquirylog.Digest(body)}
	reg, err := p.o.Registries.Snapshot(now)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry"))
	}
	if m, ok := reg.Member(peer); ok && m != nil {
		q.peerOrg = m.Organisation
	}
	if e := p.authenticate(reg, q, body, now); e != nil {
		return p.deny(ctx, q, e)
	}
	req := q.req
	if e := gate.CheckReplay(ctx, p.o.Seen, peer, req.ID); e != nil {
		return p.deny(ctx, q, e)
	}
	level := p.o.Levels[req.Feed]
	if level == "" {
		return p.deny(ctx, q, schemas.Errorf(schemas.CodeCategoryUnknown, "no such feed"))
	}
	pub, _, ok := reg.EncryptionKey(peer)
	if !ok {
		return p.deny(ctx, q, schemas.Errorf(schemas.CodeUnknownMember, "requester has no registered encryption key"))
	}
	limit := req.Limit
	if limit <= 0 || limit > MaxBatch {
		limit = MaxBatch
	}
	changes, err := p.o.Changes.Changes(ctx, req.Feed, req.After, limit+1)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	more := len(changes) > limit
	changes = changes[:min(len(changes), limit)]

	base := gate.PolicyInput(reg, peer, gate.Self{ID: p.o.ID, Jurisdiction: p.o.Jurisdiction}, Purpose, now)
	gate.AddCategories(&base, []string{req.Feed}, p.o.Levels)
	entryFor := func(subject string, res *policy.Result) schemas.InquiryEntry {
		en := q.entry(now)
		en.Subject, en.Decision = subject, schemas.DecisionAllow
		if res != nil {
			en.DecisionID, en.PolicyRevision, en.Reasons = res.DecisionID, res.Revision, res.Reasons
		}
		return en
	}

	// One decision per subject (the subject's type matters to the policy);
	// all or nothing: one denial refuses the batch.
	bySubject := map[string][]int{}
	var subjects []string
	decisions := map[string]policy.Result{}
	for i, c := range changes {
		s := c.Record.Subject
		if _, ok := bySubject[s]; !ok {
			subjects = append(subjects, s)
		}
		bySubject[s] = append(bySubject[s], i)
	}
	if len(subjects) == 0 {
		subjects = append(subjects, "") // an empty batch is decided and logged too
	}
	for _, s := range subjects {
		in := base
		// An empty batch is decided at the feed level: the requester must
		// be entitled to the feed even to learn that nothing changed.
		in.Subject.ID, in.Subject.Type = "feed:"+req.Feed, schemas.SubjectEnterprise
		if s != "" {
			id, typ, err := records.NormalizeSubject(s)
			if err != nil {
				return p.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "stored record has a bad subject id"))
			}
			in.Subject.ID, in.Subject.Type = id, typ
		}
		res, err := p.o.Policy.Decide(ctx, in)
		if err != nil {
			return p.deny(ctx, q, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated"))
		}
		if !res.Allow {
			en := entryFor(s, &res)
			en.Decision = schemas.DecisionDeny
			return p.denyEntry(ctx, q, en, schemas.Errorf(res.WireCode(), "feed denied by policy"))
		}
		decisions[s] = res
	}

	batch := Batch{Issuer: p.o.ID, Audience: peer, IssuedAt: now.Unix(), RequestID: req.ID, Feed: req.Feed,
		From: req.After, To: req.After, More: more, Items: make([]Item, len(changes))}
	if len(changes) > 0 {
		batch.To = changes[len(changes)-1].Seq
	}
	// Build every item first, so that nothing but the log itself and the
	// sealing can fail once the first leaf (and the request id) is committed.
	entries := make([]schemas.InquiryEntry, len(subjects))
	for k, s := range subjects {
		res := decisions[s]
		batch.PolicyRevision = res.Revision
		var flags map[store.RecordKey]store.RecordFlags
		if p.o.Rights != nil && s != "" {
			if flags, err = p.o.Rights.RecordFlags(ctx, s); err != nil {
				return p.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
			}
		}
		withholdRepaired, _ := res.Obligations[rights.ObligationWithholdRepaired].(bool)
		out := []schemas.RecordOut{}
		for _, i := range bySubject[s] {
			c := changes[i]
			it := Item{Seq: c.Seq, Subject: s, ID: c.Record.ID, UpdatedAt: c.Record.UpdatedAt.UnixNano()}
			f := flags[store.RecordKey{Category: req.Feed, ID: c.Record.ID}]
			// An unreadable conduct_end withholds the record (kept false).
			kept := false
			if !c.Deleted {
				kept, _ = rights.Retained(p.o.Negative.Negative(req.Feed), c.Record.Data, now)
			}
			if c.Deleted || f.Removed || (f.Repaired && withholdRepaired) || !kept {
				it.Withdrawn = true
			} else {
				if it.Data, err = records.Project(c.Record.Data, res.Fields[req.Feed]); err != nil {
					return p.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "projecting a record"))
				}
				it.Disputed = f.Disputed
				out = append(out, schemas.RecordOut{Category: req.Feed, ID: c.Record.ID, Data: it.Data, Disputed: it.Disputed})
			}
			batch.Items[i] = it
		}
		en := entryFor(s, &res)
		if en.RecordsDigest, err = inquirylog.RecordsDigest(out); err != nil {
			return p.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "digest"))
		}
		entries[k] = en
	}
	// Log, per subject; the first leaf commits the request id, so of
	// concurrent pulls with the same id exactly one is answered.
	for k, s := range subjects {
		leaf, err := inquirylog.NewLeaf(entries[k], now)
		if err != nil {
			return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "log entry could not be made"))
		}
		var app store.Appended
		if k == 0 {
			app, err = p.o.Log.CommitInquiry(ctx, store.Commit{Requester: peer, RequestID: req.ID, Leaf: leaf})
			if e := gate.CommitRefusal(err); e != nil {
				return p.deny(ctx, q, e)
			}
		} else {
			app, err = p.o.Log.AppendInquiry(ctx, leaf)
		}
		if err != nil {
			return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable"))
		}
		for _, i := range bySubject[s] {
			batch.Items[i].LogIndex = app.Index
		}
	}
	payload, err := json.Marshal(batch)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeInternal, err, "encode batch"))
	}
	sealed, err := Seal(p.o.Keys.Signer, p.o.Keys.SigningKID, payload, pub)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable"))
	}
	p.o.Logger.LogAttrs(ctx, slog.LevelInfo, "feed batch delivered", slog.String("requester", peer),
		slog.String("request_id", req.ID), slog.String("feed", req.Feed), slog.Uint64("from", batch.From),
		slog.Uint64("to", batch.To), slog.Int("records", len(batch.Items)), slog.Int("subjects", len(bySubject)))
	return Result{Sealed: sealed, RequestID: req.ID}
}

// deny logs a denied pull and answers with its code. If the log append
// fails, the answer is log_unavailable instead: nothing leaves unlogged.
func (p *Provider) deny(ctx context.Context, q *pull, e *schemas.Error) Result {
	return p.denyEntry(ctx, q, q.entry(p.o.Clock()), e)
}

// denyEntry is deny with an entry the caller filled in (a policy denial
// names the subject and the decision).
func (p *Provider) denyEntry(ctx context.Context, q *pull, en schemas.InquiryEntry, e *schemas.Error) Result {
	return failed(p.inq.Deny(ctx, en, e))
}

// fail answers without a log entry: only for failures of the log itself.
func (p *Provider) fail(q *pull, e *schemas.Error) Result {
	return failed(p.inq.FailClosed(context.Background(), q.entry(p.o.Clock()), e))
}

func failed(f gate.Failure) Result {
	return Result{RequestID: f.RequestID, LogIndex: f.LogIndex, Err: f.Err}
}

// authenticate checks the request token: profile, the TLS peer's registered
// key, strict claims, issuer, audience, issued-at, request id, cursor. Once
// the signature verified and the claims decoded, q.req is set (with the
// request id cleared if it is out of bounds), so a denial logs what it can.
func (p *Provider) authenticate(reg gate.RegistryView, q *pull, body []byte, now time.Time) *schemas.Error {
	peer := q.peer
	var req Request
	if e := gate.VerifyRequest(reg, peer, body, TypRequest, &req); e != nil {
		return e
	}
	q.req = &req
	if req.ID == "" || len(req.ID) > maxRequestID {
		req.ID = ""
		return schemas.Errorf(schemas.CodeMalformedRequest, "jti must be 1..%d characters", maxRequestID)
	}
	if e := gate.CheckIssuer(req.Issuer, peer); e != nil {
		return e
	}
	switch {
	case req.Feed == "":
		return schemas.Errorf(schemas.CodeMalformedRequest, "no feed named")
	case req.After > math.MaxInt64:
		// The stores keep sequence numbers as signed 64-bit integers.
		return schemas.Errorf(schemas.CodeMalformedRequest, "after is beyond any sequence number")
	}
	return gate.CheckAudienceAndSkew(p.o.ID, req.Audience, req.IssuedAt, now, p.o.Skew)
}
