package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// RouteDiscover answers which catalogue categories a member could query for
// a purpose (schemas.TypDiscover in, schemas.TypDiscovery out).
const RouteDiscover = "POST /v1/discover"

// discoverySubject stands in for the subject in the policy input of a
// discovery: the request names none, and the probing consent and approval
// name this one.
const discoverySubject = "discovery"

// memberBody adapts a handler of (TLS peer, body) to the member API.
func (p *Provider) memberBody(h func(ctx context.Context, peerID string, body []byte) Answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		peer, e := p.peerOf(r)
		if e != nil {
			p.write(w, r, Answer{Err: e})
			return
		}
		body, e := readBody(r)
		if e != nil {
			p.write(w, r, Answer{Err: e})
			return
		}
		ctx, cancel := p.answerContext(r.Context())
		defer cancel()
		p.write(w, r, h(ctx, peer, body))
	}
}

// Discover handles a signed discovery request from the TLS peer peerID: for
// every category of this node's catalogue it asks the policy whether the
// peer could query it for the purpose as it stands, with the subject's
// consent, with a special approval, or with both, and answers the first
// that is allowed (or, if none is, the denial with every authorisation the
// level can call for). The request is logged, without a subject, before the
// signed answer leaves; its id is spent like a query's.
func (p *Provider) Discover(ctx context.Context, peerID string, body []byte) Answer {
	now := p.opts.Clock()
	q := &inquiry{peer: peerID, kind: schemas.KindDiscovery, requestDigest: inquirylog.Digest(body)}
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry"))
	}
	if m, ok := reg.Member(peerID); ok {
		q.peerOrg = m.Organisation
	}
	dc, e := p.authenticateDiscovery(reg, q, body, now)
	if e != nil {
		return p.deny(ctx, q, e)
	}
	// A replay is refused before the policy runs up to 4×|catalogue|
	// times; the commit below still refuses a replay racing this check.
	seen, err := p.opts.Store.RequestSeen(ctx, peerID, dc.ID)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
	}
	if seen {
		return p.deny(ctx, q, schemas.Errorf(schemas.CodeReplay, "request id already used"))
	}
	cats, rev, err := p.discover(ctx, reg, dc, now)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodePolicyUnavailable, err, "policy could not be evaluated"))
	}
	catsJSON, err := json.Marshal(cats)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeInternal, err, "encode answer"))
	}
	sum := sha256.Sum256(catsJSON)
	digest := hex.EncodeToString(sum[:])

	entry := q.entry(now)
	entry.Decision = schemas.DecisionAllow
	entry.PolicyRevision = rev
	entry.RecordsDigest = digest
	entry.Categories = nil
	for _, c := range cats {
		if c.Available {
			entry.Categories = append(entry.Categories, c.Name)
		}
	}
	leaf, err := inquirylog.NewLeaf(entry, now)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "log entry could not be made"))
	}
	app, err := p.opts.Sequencer.CommitInquiry(ctx, store.Commit{Requester: peerID, RequestID: dc.ID, Leaf: leaf})
	switch {
	case errors.Is(err, store.ErrReplay):
		return p.deny(ctx, q, schemas.Errorf(schemas.CodeReplay, "request id already used"))
	case err != nil:
		return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable"))
	}
	ans := schemas.DiscoveryAnswer{
		RequestID: dc.ID, Issuer: p.opts.ID, Audience: peerID, IssuedAt: now.Unix(),
		Purpose: dc.Purpose, SubjectType: dc.SubjectType, PolicyRevision: rev, Categories: cats,
		Receipt: schemas.Receipt{Provider: p.opts.ID, LogIndex: app.Index, LeafHash: hex.EncodeToString(app.LeafHash), RecordsDigest: digest},
	}
	payload, err := json.Marshal(ans)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeInternal, err, "encode answer"))
	}
	signed, err := jose.Sign(p.opts.Keys.Signer, p.opts.Keys.SigningKID, schemas.TypDiscovery, payload)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable"))
	}
	idx := app.Index
	p.log.LogAttrs(ctx, slog.LevelInfo, "discovery answered", slog.String("request_id", dc.ID),
		slog.String("requester", peerID), slog.String("purpose", dc.Purpose), slog.Uint64("log_index", idx))
	return Answer{Body: signed, ContentType: schemas.ContentTypeJOSE, LogIndex: &idx, RequestID: dc.ID}
}

// authenticateDiscovery checks the request like a query's: profile, key of
// the TLS peer, signature, strict claims, issuer, audience, issued-at.
func (p *Provider) authenticateDiscovery(reg RegistryView, q *inquiry, body []byte, now time.Time) (*schemas.DiscoverClaims, *schemas.Error) {
	var c schemas.DiscoverClaims
	if e := VerifyPeerRequest(reg, q.peer, body, schemas.TypDiscover, &c, "discovery claims malformed"); e != nil {
		return nil, e
	}
	if c.Issuer != q.peer {
		return nil, schemas.Errorf(schemas.CodeIdentityMismatch, "iss is not the TLS peer")
	}
	if c.ID == "" || len(c.ID) > maxRequestIDLen {
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "jti must be 1..%d characters", maxRequestIDLen)
	}
	switch c.SubjectType {
	case "":
		c.SubjectType = schemas.SubjectEnterprise
	case schemas.SubjectEnterprise, schemas.SubjectPerson:
	default:
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "sub_type must be enterprise or person")
	}
	q.claims = &schemas.QueryClaims{ID: c.ID, Issuer: c.Issuer, Audience: c.Audience, Purpose: c.Purpose}
	if e := CheckAudienceAndSkew(p.opts.ID, c.Audience, c.IssuedAt, now, p.opts.Skew); e != nil {
		return nil, e
	}
	return &c, nil
}

// credential is a set of authorisations discovery tries.
type credential struct {
	needs             string
	consent, approval bool
}

// discover asks the policy about every catalogue category, sorted by name.
func (p *Provider) discover(ctx context.Context, reg RegistryView, dc *schemas.DiscoverClaims, now time.Time) ([]schemas.DiscoveredCategory, string, error) {
	base := p.policyInput(reg, &schemas.QueryClaims{Issuer: dc.Issuer, Subject: discoverySubject,
		SubjectType: dc.SubjectType, Purpose: dc.Purpose}, nil, 0, now)
	// Tried in order: the first allowed is what the category needs.
	credentials := [...]credential{
		{schemas.NeedsNothing, false, false},
		{schemas.NeedsConsent, true, false},
		{schemas.NeedsApproval, false, true},
		{schemas.NeedsConsentAndApproval, true, true},
	}
	out := []schemas.DiscoveredCategory{}
	rev := ""
	for _, name := range slices.Sorted(maps.Keys(p.opts.Catalog)) {
		level := p.opts.Catalog[name]
		var res policy.Result
		var needs string
		for _, cred := range credentials {
			in := base
			in.Categories = []policy.Category{{Name: name, Level: level}}
			if cred.consent {
				in.Consent = policy.Consent{Present: true, ID: discoverySubject, Requester: dc.Issuer, Purpose: dc.Purpose,
					Categories: []string{name}, UsesLeft: 1}
			}
			if cred.approval {
				in.Approval = policy.Approval{Present: true, ID: discoverySubject, Purpose: dc.Purpose,
					Categories: []string{name}, Requester: dc.Issuer, Subject: discoverySubject}
			}
			r, err := p.opts.Policy.Decide(ctx, in)
			if err != nil {
				return nil, "", err
			}
			res, needs = r, cred.needs
			if r.Allow {
				break
			}
		}
		rev = res.Revision
		dcat := schemas.DiscoveredCategory{Name: name, Level: level, Available: res.Allow, Reasons: res.Reasons,
			DecisionID: res.DecisionID}
		if res.Allow {
			dcat.Needs, dcat.Fields = needs, res.Fields[name]
		} else {
			dcat.Code = res.WireCode()
		}
		out = append(out, dcat)
	}
	return out, rev, nil
}
