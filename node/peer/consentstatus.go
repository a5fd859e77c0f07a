package peer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/schemas"
)

// RouteConsentStatus is the provider's consent status endpoint
// (server.RouteConsentStatus).
const RouteConsentStatus = "/v1/consent/status"

// ConsentStatus asks provider how much of the consent tok, granted by
// subject to this node, is left there: its state (usable, exhausted,
// revoked), the uses spent and left. The answer is verified: signed by a key
// the registry lists for the provider, for this request and this node, about
// this consent. A consent the provider does not accept for this node is a
// refusal with its code (consent_invalid, consent_wrong_provider, …). The
// request and its receipt (or failure) are recorded in the outbound log,
// with caller's staff id and business reference if caller is not nil.
func (c *Client) ConsentStatus(ctx context.Context, provider, subject, tok string, caller *Caller) (*schemas.ConsentStatusAnswer, error) {
	id := NewRequestID()
	payload, err := json.Marshal(schemas.ConsentStatusClaims{ID: id, IssuedAt: c.opts.Clock().Unix(), Issuer: c.opts.ID,
		Audience: provider, Subject: subject, Consent: tok})
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "encode consent status request")
	}
	signed, err := jose.Sign(c.opts.Keys.Signer, c.opts.Keys.SigningKID, schemas.TypConsentStatus, payload)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeKeysUnavailable, err, "could not sign the consent status request")
	}
	// Recorded in the outbound log like a query: it names a subject.
	sent := schemas.OutboundEntry{Kind: schemas.KindConsentStatus, Stage: schemas.OutboundSent, RequestID: id, Provider: provider,
		Subject: subject, RequestDigest: inquirylog.Digest(signed)}
	if caller != nil {
		sent.Client, sent.StaffID, sent.BusinessRef, sent.BusinessRefDigest = caller.Client, caller.StaffID, caller.BusinessRef, caller.RefDigest
	}
	if _, err := c.appendOutbound(ctx, sent); err != nil {
		return nil, schemas.Wrap(schemas.CodeLogUnavailable, err, "outbound log unavailable: request not sent")
	}
	resp, err := c.post(ctx, provider, RouteConsentStatus, signed)
	if err != nil {
		return nil, c.failed(ctx, sent, schemas.AsError(err, schemas.CodePeerUnavailable, "request failed"), nil)
	}
	if resp.status != http.StatusOK {
		e, idx := decodeError(resp)
		return nil, c.failed(ctx, sent, e, idx)
	}
	ans, err := c.openConsentStatus(provider, id, resp.body)
	if err != nil {
		return nil, c.failed(ctx, sent, schemas.Wrap(schemas.CodePeerBadResponse, err, "provider answer failed verification"), nil)
	}
	rcpt := sent
	rcpt.Stage, rcpt.Decision, rcpt.ConsentID = schemas.OutboundReceipt, schemas.DecisionAllow, ans.ConsentID
	idx := ans.Receipt.LogIndex
	rcpt.ProviderLogIndex, rcpt.ProviderLeafHash = &idx, ans.Receipt.LeafHash
	if _, err := c.appendOutbound(ctx, rcpt); err != nil {
		return nil, schemas.Wrap(schemas.CodeLogUnavailable, err, "outbound log unavailable: receipt not recorded")
	}
	return ans, nil
}

func (c *Client) openConsentStatus(provider, requestID string, signed []byte) (*schemas.ConsentStatusAnswer, error) {
	payload, err := c.verifyFrom(provider, schemas.TypConsentStatusAnswer, signed)
	if err != nil {
		return nil, err
	}
	var out schemas.ConsentStatusAnswer
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, err
	}
	switch {
	case out.RequestID != requestID:
		return nil, errors.New("answer is for another request")
	case out.Issuer != provider || out.Receipt.Provider != provider:
		return nil, errors.New("answer issued by another provider")
	case out.Audience != c.opts.ID:
		return nil, errors.New("answer addressed to another node")
	case out.UsesLeft < 0 || out.Uses < 0 || out.Uses+out.UsesLeft != out.MaxUses:
		return nil, errors.New("answer's uses do not add up")
	}
	return &out, nil
}
