package peer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/schemas"
)

// RouteDiscover is the provider's discovery endpoint (server.RouteDiscover).
const RouteDiscover = "/v1/discover"

// Discover asks provider which of its catalogue categories this node could
// query for purpose about a subject of subjectType ("" for an enterprise),
// and with which authorisation. The answer is verified: signed by a key the
// registry lists for the provider, for this request and this node, its
// categories matching the digest the provider logged.
func (c *Client) Discover(ctx context.Context, provider, purpose, subjectType string) (*schemas.DiscoveryAnswer, error) {
	id := NewRequestID()
	payload, err := json.Marshal(schemas.DiscoverClaims{ID: id, IssuedAt: c.opts.Clock().Unix(), Issuer: c.opts.ID,
		Audience: provider, Purpose: purpose, SubjectType: subjectType})
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "encode discovery request")
	}
	tok, err := jose.Sign(c.opts.Keys.Signer, c.opts.Keys.SigningKID, schemas.TypDiscover, payload)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeKeysUnavailable, err, "could not sign the discovery request")
	}
	resp, err := c.post(ctx, provider, RouteDiscover, tok)
	if err != nil {
		return nil, schemas.AsError(err, schemas.CodePeerUnavailable, "request failed")
	}
	if resp.status != http.StatusOK {
		e, _ := decodeError(resp)
		return nil, e
	}
	ans, err := c.openDiscovery(provider, id, resp.body)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "provider answer failed verification")
	}
	return ans, nil
}

func (c *Client) openDiscovery(provider, requestID string, signed []byte) (*schemas.DiscoveryAnswer, error) {
	payload, err := c.verifyFrom(provider, schemas.TypDiscovery, signed)
	if err != nil {
		return nil, err
	}
	var out schemas.DiscoveryAnswer
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, err
	}
	cats, err := json.Marshal(out.Categories)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(cats)
	switch {
	case out.RequestID != requestID:
		return nil, errors.New("answer is for another request")
	case out.Issuer != provider || out.Receipt.Provider != provider:
		return nil, errors.New("answer issued by another provider")
	case out.Audience != c.opts.ID:
		return nil, errors.New("answer addressed to another node")
	case out.Receipt.RecordsDigest != hex.EncodeToString(sum[:]):
		return nil, errors.New("categories do not match the receipt digest")
	}
	return &out, nil
}

// verifyFrom verifies signed as a JWS of type typ from provider, signed by a
// key the registry in force lists for it, and returns its payload.
func (c *Client) verifyFrom(provider, typ string, signed []byte) ([]byte, error) {
	hdr, err := jose.ParseJWSHeader(signed)
	if err != nil {
		return nil, err
	}
	reg, err := c.opts.Registries.Snapshot(c.opts.Clock())
	if err != nil {
		return nil, err
	}
	pub, ok := reg.SigningKey(provider, hdr.KeyID)
	if !ok {
		return nil, errors.New("answer signed by a key not registered to the provider")
	}
	payload, _, err := jose.Verify(signed, typ, pub)
	return payload, err
}
