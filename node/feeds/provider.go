package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
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

// InquiryLog appends to the provider's inquiry log (the node's sequencer).
type InquiryLog interface {
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
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
func (p *Provider) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e *schemas.Error
		var sealed []byte
		peer, e := p.peerOf(r)
		if e == nil {
			body, err := readAll(r)
			if err != nil {
				e = schemas.Wrap(schemas.CodeMalformedRequest, err, "could not read body")
			} else {
				sealed, e = p.Serve(r.Context(), peer, body)
			}
		}
		if e != nil {
			if e.Code.Status() >= 500 {
				p.o.Logger.LogAttrs(r.Context(), slog.LevelError, "feed request failed", slog.String("requester", peer),
					slog.String("code", string(e.Code)), slog.Any("cause", e.Err))
			}
			w.Header().Set("Content-Type", schemas.ContentTypeError)
			w.WriteHeader(e.Code.Status())
			json.NewEncoder(w).Encode(schemas.ErrorBody{Error: schemas.ErrorDetail{Code: e.Code, Message: e.Message}})
			return
		}
		w.Header().Set("Content-Type", ContentTypeAge)
		w.WriteHeader(http.StatusOK)
		w.Write(sealed)
	})
}

func (p *Provider) peerOf(r *http.Request) (string, *schemas.Error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", schemas.Errorf(schemas.CodeUnknownMember, "no client certificate")
	}
	reg, err := p.o.Registries.Snapshot(p.o.Clock())
	if err != nil {
		return "", schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	id, ok := reg.MemberByFingerprint(certs.Fingerprint(r.TLS.PeerCertificates[0].Raw))
	if !ok {
		return "", schemas.Errorf(schemas.CodeUnknownMember, "client certificate is not registered")
	}
	return id, nil
}

// Serve answers one pull from the authenticated member peer: the sealed
// batch, or the wire error. Every answer that carries records has been
// logged, per subject, before it is returned; a denial is logged too.
func (p *Provider) Serve(ctx context.Context, peer string, body []byte) ([]byte, *schemas.Error) {
	now := p.o.Clock()
	reg, err := p.o.Registries.Snapshot(now)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	req, e := p.authenticate(reg, peer, body, now)
	if e != nil {
		return nil, e
	}
	level := p.o.Levels[req.Feed]
	if level == "" {
		return nil, schemas.Errorf(schemas.CodeCategoryUnknown, "no such feed")
	}
	limit := req.Limit
	if limit <= 0 || limit > MaxBatch {
		limit = MaxBatch
	}
	changes, err := p.o.Changes.Changes(ctx, req.Feed, req.After, limit+1)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	more := len(changes) > limit
	changes = changes[:min(len(changes), limit)]

	m, _ := reg.Member(peer)
	base := policy.Input{Purpose: Purpose, Time: now.UTC(),
		Categories: []policy.Category{{Name: req.Feed, Level: level}}}
	base.Requester.ID = peer
	if m != nil {
		base.Requester.Organisation, base.Requester.Roles, base.Requester.Jurisdiction = m.Organisation, m.Roles, m.Jurisdiction
	}
	base.Provider.ID, base.Provider.Jurisdiction = p.o.ID, p.o.Jurisdiction
	entryFor := func(subject string, res *policy.Result) schemas.InquiryEntry {
		en := schemas.InquiryEntry{Time: now.UTC().Format(time.RFC3339Nano), Kind: KindDelivery, RequestID: req.ID,
			Requester: peer, Subject: subject, Purpose: Purpose, Categories: []string{req.Feed},
			Decision: schemas.DecisionAllow, RequestDigest: inquirylog.Digest(body)}
		if m != nil {
			en.RequesterOrg = m.Organisation
		}
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
				return nil, schemas.Wrap(schemas.CodeInternal, err, "stored record has a bad subject id")
			}
			in.Subject.ID, in.Subject.Type = id, typ
		}
		res, err := p.o.Policy.Decide(ctx, in)
		if err != nil {
			return nil, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated")
		}
		if !res.Allow {
			en := entryFor(s, &res)
			en.Decision, en.Code = schemas.DecisionDeny, res.WireCode()
			if _, e := p.append(ctx, en, now); e != nil {
				return nil, e
			}
			return nil, schemas.Errorf(res.WireCode(), "feed denied by policy")
		}
		decisions[s] = res
	}

	batch := Batch{Issuer: p.o.ID, Audience: peer, IssuedAt: now.Unix(), RequestID: req.ID, Feed: req.Feed,
		From: req.After, To: req.After, More: more, Items: make([]Item, len(changes))}
	if len(changes) > 0 {
		batch.To = changes[len(changes)-1].Seq
	}
	for _, s := range subjects {
		res := decisions[s]
		batch.PolicyRevision = res.Revision
		var flags map[store.RecordKey]store.RecordFlags
		if p.o.Rights != nil && s != "" {
			if flags, err = p.o.Rights.RecordFlags(ctx, s); err != nil {
				return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
			}
		}
		withholdRepaired, _ := res.Obligations[server.ObligationWithholdRepaired].(bool)
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
				if it.Data, err = server.Project(c.Record.Data, res.Fields[req.Feed]); err != nil {
					return nil, schemas.Wrap(schemas.CodeInternal, err, "projecting a record")
				}
				it.Disputed = f.Disputed
				out = append(out, schemas.RecordOut{Category: req.Feed, ID: c.Record.ID, Data: it.Data, Disputed: it.Disputed})
			}
			batch.Items[i] = it
		}
		en := entryFor(s, &res)
		if en.RecordsDigest, err = inquirylog.RecordsDigest(out); err != nil {
			return nil, schemas.Wrap(schemas.CodeInternal, err, "digest")
		}
		app, e := p.append(ctx, en, now)
		if e != nil {
			return nil, e
		}
		for _, i := range bySubject[s] {
			batch.Items[i].LogIndex = app.Index
		}
	}
	payload, err := json.Marshal(batch)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "encode batch")
	}
	pub, _, ok := reg.EncryptionKey(peer)
	if !ok {
		return nil, schemas.Errorf(schemas.CodeUnknownMember, "requester has no registered encryption key")
	}
	sealed, err := Seal(p.o.Keys.Signer, p.o.Keys.SigningKID, payload, pub)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable")
	}
	p.o.Logger.LogAttrs(ctx, slog.LevelInfo, "feed batch delivered", slog.String("requester", peer),
		slog.String("feed", req.Feed), slog.Uint64("from", batch.From), slog.Uint64("to", batch.To),
		slog.Int("records", len(batch.Items)), slog.Int("subjects", len(bySubject)))
	return sealed, nil
}

func (p *Provider) append(ctx context.Context, en schemas.InquiryEntry, now time.Time) (store.Appended, *schemas.Error) {
	leaf, err := inquirylog.NewLeaf(en, now)
	if err != nil {
		return store.Appended{}, schemas.Wrap(schemas.CodeInternal, err, "log entry")
	}
	app, err := p.o.Log.AppendInquiry(ctx, leaf)
	if err != nil {
		return store.Appended{}, schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable")
	}
	return app, nil
}

// authenticate checks the request token: profile, the TLS peer's registered
// key, strict claims, issuer, audience, issued-at, request id.
func (p *Provider) authenticate(reg server.RegistryView, peer string, body []byte, now time.Time) (*Request, *schemas.Error) {
	hdr, err := jose.ParseJWSHeader(body)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "request is not a compact JWS in the profile")
	}
	pub, ok := reg.SigningKey(peer, hdr.KeyID)
	if !ok {
		return nil, schemas.Errorf(schemas.CodeBadSignature, "kid is not a registered key of the TLS peer")
	}
	payload, _, err := jose.Verify(body, TypRequest, pub)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeBadSignature, err, "signature does not verify")
	}
	var req Request
	if err := decodeStrict(payload, &req); err != nil {
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "request claims malformed")
	}
	switch {
	case req.Issuer != peer:
		return nil, schemas.Errorf(schemas.CodeIdentityMismatch, "iss is not the TLS peer")
	case req.Audience != p.o.ID:
		return nil, schemas.Errorf(schemas.CodeWrongAudience, "aud is not this node")
	case req.ID == "" || len(req.ID) > maxRequestID:
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "jti must be 1..%d characters", maxRequestID)
	case req.Feed == "":
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "no feed named")
	}
	if d := now.Sub(time.Unix(req.IssuedAt, 0)); d > p.o.Skew || d < -p.o.Skew {
		return nil, schemas.Errorf(schemas.CodeClockSkew, "iat outside the skew window")
	}
	return &req, nil
}

func readAll(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRequestBytes {
		return nil, errors.New("feeds: request too large")
	}
	return b, nil
}
