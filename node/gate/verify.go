package gate

import (
	"context"
	"errors"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/schemas"
)

// VerifyRequest runs the first checks of a member's signed request, in this
// order, and decodes its claims into claims (a pointer to a struct):
//
//   - the body is a compact JWS (malformed_request "request is not a compact
//     JWS") in the profile (bad_signature "request token outside the
//     profile");
//   - its kid is a signing key the registry lists for peer, the member
//     authenticated by mutual TLS (bad_signature);
//   - it verifies under that key with JOSE type typ (bad_signature);
//   - its payload decodes with schemas.DecodeStrict into claims: no
//     unknown, duplicate or case-variant member names at any level
//     (malformed_request "request claims malformed").
//
// Every member route (query, discovery, feeds, joint modelling) starts with
// it; each then checks its own claims, CheckIssuer and CheckAudienceAndSkew.
func VerifyRequest(reg RegistryView, peer string, body []byte, typ string, claims any) *schemas.Error {
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
		return schemas.Wrap(schemas.CodeMalformedRequest, err, "request claims malformed")
	}
	return nil
}

// CheckIssuer: the signed issuer is the TLS peer (identity_mismatch).
func CheckIssuer(issuer, peer string) *schemas.Error {
	if issuer != peer {
		return schemas.Errorf(schemas.CodeIdentityMismatch, "iss is not the TLS peer")
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

// ReplayGuard says whether a request id was already committed (node/store).
type ReplayGuard interface {
	RequestSeen(ctx context.Context, requester, requestID string) (bool, error)
}

// CheckReplay refuses a request id the requester already used (replay). It
// runs before the expensive checks; the commit of the answer's log entry
// refuses a replay racing it.
func CheckReplay(ctx context.Context, g ReplayGuard, requester, requestID string) *schemas.Error {
	seen, err := g.RequestSeen(ctx, requester, requestID)
	if err != nil {
		return schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	if seen {
		return ErrReplay()
	}
	return nil
}

// ErrReplay is the wire error of a request id used before.
func ErrReplay() *schemas.Error {
	return schemas.Errorf(schemas.CodeReplay, "request id already used")
}
