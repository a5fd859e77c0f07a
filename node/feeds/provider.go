package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// ChangeReader reads the provider's change sequence (node/store).
type ChangeReader interface {
	Changes(ctx context.Context, category string, after uint64, limit int) ([]store.Change, error)
}

// InquiryLog writes the provider's inquiry log (the node's sequencer):
// CommitInquiry marks the request id used atomically with the answer's
// first leaf; AppendInquiry takes the other leaves and the denials.
type InquiryLog interface {
	CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error)
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
}

// ReplayGuard says whether a request id was already committed (node/store).
type ReplayGuard interface {
	RequestSeen(ctx context.Context, requester, requestID string) (bool, error)
}

// Decider evaluates the authorisation policy (*policy.Holder).
type Decider interface {
	Decide(ctx context.Context, in policy.Input) (policy.Result, error)
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
	Registries   server.Registries
	Changes      ChangeReader
	Log          InquiryLog
	Seen         ReplayGuard // default: Changes, if it has RequestSeen (both stores do)
	Policy       Decider
	Levels       map[string]string // sharing level per category offered (the catalogue)
	Rights       RecordFlagger     // nil: no objection or repair flags to honour
	Negative     Negativity        // required: the 5-year rule
	Skew         time.Duration     // default 5 minutes
	Clock        func() time.Time  // default time.Now
	Logger       *slog.Logger
}

// Provider serves this node's change feeds.
type Provider struct{ o ProviderOptions }

// NewProvider checks the options and fills in defaults.
func NewProvider(o ProviderOptions) (*Provider, error) {
	if o.ID == "" || o.Keys == nil || o.Registries == nil || o.Changes == nil || o.Log == nil || o.Policy == nil || o.Negative == nil {
		return nil, errors.New("feeds: ID, Keys, Registries, Changes, Log, Policy and Negative are required")
	}
	if o.Seen == nil {
		g, ok := o.Changes.(ReplayGuard)
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
	return &Provider{o: o}, nil
}

// Handler serves Route on the member API: the TLS layer has required a
// registered client certificate; the handler looks its member up again.
// Once the peer is known, every failure is logged (see deny).
func (p *Provider) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, org, e := p.peerOf(r)
		if e != nil {
			p.writeResult(w, r, peer, Result{Err: e})
			return
		}
		var res Result
		body, err := readAll(w, r)
		if err != nil {
			// The body is unread or cut short: no request digest is logged.
			q := &pull{peer: peer, peerOrg: org}
			if errors.Is(err, errTooLarge) {
				res = p.deny(r.Context(), q, schemas.Wrap(schemas.CodeBodyTooLarge, err, "request body too large"))
			} else {
				res = p.deny(r.Context(), q, schemas.Wrap(schemas.CodeMalformedRequest, err, "could not read body"))
			}
		} else {
			res = p.Pull(r.Context(), peer, body)
		}
		p.writeResult(w, r, peer, res)
	})
}

func (p *Provider) writeResult(w http.ResponseWriter, r *http.Request, peer string, res Result) {
	if e := res.Err; e != nil {
		if e.Code.Status() >= 500 {
			p.o.Logger.LogAttrs(r.Context(), slog.LevelError, "feed request failed", slog.String("requester", peer),
				slog.String("code", string(e.Code)), slog.Any("cause", e.Err))
		}
		w.Header().Set("Content-Type", schemas.ContentTypeError)
		w.WriteHeader(e.Code.Status())
		json.NewEncoder(w).Encode(schemas.ErrorBody{Error: schemas.ErrorDetail{Code: e.Code, Message: e.Message,
			RequestID: res.RequestID, LogIndex: res.LogIndex}})
		return
	}
	w.Header().Set("Content-Type", ContentTypeAge)
	w.WriteHeader(http.StatusOK)
	w.Write(res.Sealed)
}

func (p *Provider) peerOf(r *http.Request) (id, org string, _ *schemas.Error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", "", schemas.Errorf(schemas.CodeUnknownMember, "no client certificate")
	}
	reg, err := p.o.Registries.Snapshot(p.o.Clock())
	if err != nil {
		return "", "", schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	id, ok := reg.MemberByFingerprint(certs.Fingerprint(r.TLS.PeerCertificates[0].Raw))
	if !ok {
		return "", "", schemas.Errorf(schemas.CodeUnknownMember, "client certificate is not registered")
	}
	if m, ok := reg.Member(id); ok && m != nil {
		org = m.Organisation
	}
	return id, org, nil
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
	m, _ := reg.Member(peer)
	if m != nil {
		q.peerOrg = m.Organisation
	}
	if e := p.authenticate(reg, q, body, now); e != nil {
		return p.deny(ctx, q, e)
	}
	req := q.req
	seen, err := p.o.Seen.RequestSeen(ctx, peer, req.ID)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	if seen {
		return p.deny(ctx, q, schemas.Errorf(schemas.CodeReplay, "request id already used"))
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

	base := policy.Input{Purpose: Purpose, Time: now.UTC(),
		Categories: []policy.Category{{Name: req.Feed, Level: level}}}
	base.Requester.ID = peer
	if m != nil {
		base.Requester.Organisation, base.Requester.Roles, base.Requester.Jurisdiction = m.Organisation, m.Roles, m.Jurisdiction
	}
	base.Provider.ID, base.Provider.Jurisdiction = p.o.ID, p.o.Jurisdiction
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
			if errors.Is(err, store.ErrReplay) {
				return p.deny(ctx, q, schemas.Errorf(schemas.CodeReplay, "request id already used"))
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
	now := p.o.Clock()
	en.Decision, en.Code = schemas.DecisionDeny, e.Code
	leaf, err := inquirylog.NewLeaf(en, now)
	if err == nil {
		var app store.Appended
		if app, err = p.o.Log.AppendInquiry(ctx, leaf); err == nil {
			idx := app.Index
			p.o.Logger.LogAttrs(ctx, slog.LevelInfo, "feed pull denied", slog.String("request_id", en.RequestID),
				slog.String("requester", q.peer), slog.String("code", string(e.Code)), slog.Uint64("log_index", idx),
				slog.Any("cause", e.Err))
			return Result{RequestID: en.RequestID, LogIndex: &idx, Err: e}
		}
	}
	return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, errors.Join(err, e), "inquiry log unavailable"))
}

// fail answers without a log entry: only for failures of the log itself.
func (p *Provider) fail(q *pull, e *schemas.Error) Result {
	p.o.Logger.LogAttrs(context.Background(), slog.LevelError, "feed pull failed closed",
		slog.String("request_id", q.requestID()), slog.String("requester", q.peer), slog.String("code", string(e.Code)),
		slog.Any("cause", e.Err))
	return Result{RequestID: q.requestID(), Err: e}
}

// authenticate checks the request token: profile, the TLS peer's registered
// key, strict claims, issuer, audience, issued-at, request id, cursor. Once
// the signature verified and the claims decoded, q.req is set (with the
// request id cleared if it is out of bounds), so a denial logs what it can.
func (p *Provider) authenticate(reg server.RegistryView, q *pull, body []byte, now time.Time) *schemas.Error {
	peer := q.peer
	hdr, err := jose.ParseJWSHeader(body)
	if err != nil {
		return schemas.Wrap(schemas.CodeMalformedRequest, err, "request is not a compact JWS in the profile")
	}
	pub, ok := reg.SigningKey(peer, hdr.KeyID)
	if !ok {
		return schemas.Errorf(schemas.CodeBadSignature, "kid is not a registered key of the TLS peer")
	}
	payload, _, err := jose.Verify(body, TypRequest, pub)
	if err != nil {
		return schemas.Wrap(schemas.CodeBadSignature, err, "signature does not verify")
	}
	var req Request
	if err := decodeStrict(payload, &req); err != nil {
		return schemas.Wrap(schemas.CodeMalformedRequest, err, "request claims malformed")
	}
	q.req = &req
	if req.ID == "" || len(req.ID) > maxRequestID {
		req.ID = ""
		return schemas.Errorf(schemas.CodeMalformedRequest, "jti must be 1..%d characters", maxRequestID)
	}
	switch {
	case req.Issuer != peer:
		return schemas.Errorf(schemas.CodeIdentityMismatch, "iss is not the TLS peer")
	case req.Audience != p.o.ID:
		return schemas.Errorf(schemas.CodeWrongAudience, "aud is not this node")
	case req.Feed == "":
		return schemas.Errorf(schemas.CodeMalformedRequest, "no feed named")
	case req.After > math.MaxInt64:
		// The stores keep sequence numbers as signed 64-bit integers.
		return schemas.Errorf(schemas.CodeMalformedRequest, "after is beyond any sequence number")
	}
	if d := now.Sub(time.Unix(req.IssuedAt, 0)); d > p.o.Skew || d < -p.o.Skew {
		return schemas.Errorf(schemas.CodeClockSkew, "iat outside the skew window")
	}
	return nil
}

// errTooLarge marks a body over maxRequestBytes.
var errTooLarge = errors.New("feeds: request too large")

func readAll(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, mbe.Limit)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}
