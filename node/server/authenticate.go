package server

import (
	"errors"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/schemas"
)

// VerifyPeerRequest runs the first checks of a member's signed request, in
// this order, and decodes its claims into claims (a pointer to a struct):
//
//   - the body is a compact JWS (malformed_request "request is not a compact
//     JWS") in the profile (bad_signature "request token outside the
//     profile");
//   - its kid is a signing key the registry lists for peer, the member
//     authenticated by mutual TLS (bad_signature);
//   - it verifies under that key with JOSE type typ (bad_signature);
//   - its payload decodes strictly into claims (malformed_request, with the
//     message malformed, e.g. "query claims malformed").
//
// The query, discovery and joint-modelling routes share it; each then checks
// the issuer and its own claims, and ends with CheckAudienceAndSkew.
func VerifyPeerRequest(reg RegistryView, peer string, body []byte, typ string, claims any, malformed string) *schemas.Error {
	hdr, err := jose.ParseJWSHeader(body)
	if err != nil {
		if errors.Is(err, jose.ErrMalformed) {
			return schemas.Wrap(schemas.CodeMalformedRequest, err, "request is not a compact JWS")
		}
		return schemas.Wrap(schemas.CodeBadSignature, err, "request token outside the profile")
	}
	pub, ok := reg.SigningKey(peer, hdr.KeyID)
	if !ok {
		return schemas.Errorf(schemas.CodeBadSignature, "kid is not a registered key of the TLS peer")
	}
	payload, _, err := jose.Verify(body, typ, pub)
	if err != nil {
		return schemas.Wrap(schemas.CodeBadSignature, err, "signature does not verify")
	}
	if err := schemas.DecodeStrict(payload, claims); err != nil {
		return schemas.Wrap(schemas.CodeMalformedRequest, err, malformed)
	}
	return nil
}

// CheckAudienceAndSkew runs the last checks of a member's request: it is
// addressed to this node, self (wrong_audience), and was issued within skew
// of now (clock_skew).
func CheckAudienceAndSkew(self, audience string, issuedAt int64, now time.Time, skew time.Duration) *schemas.Error {
	if audience != self {
		return schemas.Errorf(schemas.CodeWrongAudience, "request addressed to another node")
	}
	if d := now.Sub(time.Unix(issuedAt, 0)); d > skew || d < -skew {
		return schemas.Errorf(schemas.CodeClockSkew, "issued-at outside the ±%s window", skew)
	}
	return nil
}
