package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// RouteConsentStatus answers how much of a consent is left at this provider
// (schemas.TypConsentStatus in, schemas.TypConsentStatusAnswer out).
const RouteConsentStatus = "POST /v1/consent/status"

// ConsentStatus handles a signed consent status request from the TLS peer
// peerID. The consent must verify and name the peer as requester and this
// node as a provider, through the same check a query's consent passes
// (gate.CheckConsent); a consent that is used up or revoked is answered, as
// its state, not refused. The request is logged in the subject's inquiry
// log before the signed answer leaves, and its id is spent like a query's.
func (p *Provider) ConsentStatus(ctx context.Context, peerID string, body []byte) Answer {
	now := p.opts.Clock()
	q := &inquiry{peer: peerID, kind: schemas.KindConsentStatus, requestDigest: inquirylog.Digest(body)}
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry"))
	}
	if m, ok := reg.Member(peerID); ok {
		q.peerOrg = m.Organisation
	}
	var c schemas.ConsentStatusClaims
	if e := gate.VerifyRequest(reg, peerID, body, schemas.TypConsentStatus, &c); e != nil {
		return p.deny(ctx, q, e)
	}
	if e := gate.CheckIssuer(c.Issuer, peerID); e != nil {
		return p.deny(ctx, q, e)
	}
	if c.ID == "" || len(c.ID) > maxRequestIDLen {
		return p.deny(ctx, q, schemas.Errorf(schemas.CodeMalformedRequest, "jti must be 1..%d characters", maxRequestIDLen))
	}
	subject, _, err := records.NormalizeSubject(c.Subject)
	if err != nil {
		return p.deny(ctx, q, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad subject id"))
	}
	q.claims = &schemas.QueryClaims{ID: c.ID, Issuer: c.Issuer, Audience: c.Audience, Subject: subject}
	if e := gate.CheckAudienceAndSkew(p.opts.ID, c.Audience, c.IssuedAt, now, p.opts.Skew); e != nil {
		return p.deny(ctx, q, e)
	}
	if e := gate.CheckReplay(ctx, p.opts.Store, peerID, c.ID); e != nil {
		return p.deny(ctx, q, e)
	}
	cons, usesLeft, e := gate.CheckConsent(ctx, p.opts.Store, reg, c.Consent,
		consent.Expectation{Requester: peerID, Provider: p.opts.ID, Subject: subject}, now, p.opts.Skew)
	if cons == nil || (e != nil && e.Code != schemas.CodeConsentExhausted && e.Code != schemas.CodeConsentRevoked) {
		if cons != nil {
			q.consentID = cons.Claims.ID
		}
		if e == nil {
			e = schemas.Errorf(schemas.CodeConsentInvalid, "rejected")
		}
		return p.deny(ctx, q, e)
	}
	q.consentID = cons.Claims.ID
	ans := schemas.ConsentStatusAnswer{RequestID: c.ID, Issuer: p.opts.ID, Audience: peerID, IssuedAt: now.Unix(),
		ConsentID: cons.Claims.ID, Subject: subject, State: schemas.ConsentUsable, MaxUses: cons.Claims.MaxUses, UsesLeft: usesLeft}
	switch {
	case e == nil:
	case e.Code == schemas.CodeConsentRevoked:
		ans.State = schemas.ConsentRevoked
		used, err := p.opts.Store.ConsentUses(ctx, subject, cons.Claims.ID)
		if err != nil {
			return p.deny(ctx, q, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable"))
		}
		ans.UsesLeft = max(cons.Claims.MaxUses-used, 0)
	default:
		ans.State = schemas.ConsentExhausted
	}
	ans.Uses = ans.MaxUses - ans.UsesLeft

	entry := q.entry(now)
	entry.Decision = schemas.DecisionAllow
	entry.Outcome = "consent " + ans.State
	leaf, err := inquirylog.NewLeaf(entry, now)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "log entry could not be made"))
	}
	app, err := p.opts.Sequencer.CommitInquiry(ctx, store.Commit{Requester: peerID, RequestID: c.ID, Leaf: leaf})
	if e := gate.CommitRefusal(err); e != nil {
		return p.deny(ctx, q, e)
	}
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable"))
	}
	ans.Receipt = schemas.Receipt{Provider: p.opts.ID, LogIndex: app.Index, LeafHash: hex.EncodeToString(app.LeafHash)}
	payload, err := json.Marshal(ans)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeInternal, err, "encode answer"))
	}
	signed, err := jose.Sign(p.opts.Keys.Signer, p.opts.Keys.SigningKID, schemas.TypConsentStatusAnswer, payload)
	if err != nil {
		return p.fail(q, schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable"))
	}
	idx := app.Index
	p.log.LogAttrs(ctx, slog.LevelInfo, "consent status answered", slog.String("request_id", c.ID),
		slog.String("requester", peerID), slog.String("consent_id", cons.Claims.ID), slog.String("state", ans.State),
		slog.Uint64("log_index", idx))
	return Answer{Body: signed, ContentType: schemas.ContentTypeJOSE, LogIndex: &idx, RequestID: c.ID}
}
