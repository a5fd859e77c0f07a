package consent

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/schemas"
)

// Limits on outside input.
const (
	// MaxTokenSize bounds every token this package verifies. A consent with
	// its embedded certificate and a long category list is a few KiB.
	MaxTokenSize = 64 << 10
	// MaxNameLength bounds ids, node ids, purposes and category names.
	MaxNameLength = 256
	// maxUnix is 9999-12-31T23:59:59Z; larger timestamps are rejected so that
	// time arithmetic cannot overflow.
	maxUnix = 253402300799
)

// Errors returned by the issuing functions (IssueSubjectCert, Grant, Revoke,
// SubjectRead). They are local errors for the signer, not wire errors.
var (
	// ErrInvalidClaims: an argument or claim is missing or malformed.
	ErrInvalidClaims = errors.New("consent: invalid claims")
	// ErrKeyMismatch: the signing key is not the key the subject certificate binds.
	ErrKeyMismatch = errors.New("consent: key does not match the subject certificate")
	// ErrCertificate: the subject certificate is malformed or expired.
	ErrCertificate = errors.New("consent: unusable subject certificate")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidClaims}, args...)...)
}

// validName accepts 1..MaxNameLength bytes of printable ASCII without spaces:
// the shape of every id, node id, purpose and category on the wire.
func validName(s string) bool {
	if s == "" || len(s) > MaxNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// validNames accepts a list of valid, distinct names.
func validNames(list []string) bool {
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if !validName(s) || seen[s] {
			return false
		}
		seen[s] = true
	}
	return true
}

// validUnix accepts timestamps from 1970 (exclusive) to the year 9999.
func validUnix(t int64) bool { return t > 0 && t <= maxUnix }

// newJTI returns a random 128-bit token id in hex.
func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// digest is the hex SHA-256 of a token's bytes, the form in which tokens are
// logged and compared.
func digest(tok []byte) string {
	sum := sha256.Sum256(tok)
	return hex.EncodeToString(sum[:])
}

func nonNegative(skew time.Duration) time.Duration { return max(skew, 0) }

// expired reports whether a token with expiry exp has expired at now.
func expired(exp int64, now time.Time, skew time.Duration) bool {
	return !now.Before(time.Unix(exp, 0).Add(skew))
}

// notYetValid reports whether a token with not-before nbf is not yet valid at now.
func notYetValid(nbf int64, now time.Time, skew time.Duration) bool {
	return now.Before(time.Unix(nbf, 0).Add(-skew))
}

// inFuture reports whether iat lies more than skew after now.
func inFuture(iat int64, now time.Time, skew time.Duration) bool {
	return time.Unix(iat, 0).After(now.Add(skew))
}

// payloadOf returns the still unauthenticated payload of a compact JWS whose
// header jose.ParseJWSHeader has accepted (so the segment is canonical base64url).
func payloadOf(tok []byte) ([]byte, error) {
	parts := bytes.Split(tok, []byte{'.'})
	if len(parts) != 3 {
		return nil, jose.ErrMalformed
	}
	return base64.RawURLEncoding.Strict().DecodeString(string(parts[1]))
}

// codes names the wire codes a kind of subject-signed token fails with.
type codes struct {
	shape     schemas.Code // not a token of this kind, or malformed claims
	signature schemas.Code // wrong type, key or signature
}

// verifyBySubject checks a token signed by a subject: its JOSE shape and type,
// the subject certificate it embeds in "sub_cert" (verified against reg), and
// its signature under the certified key. It returns the certificate and the
// authenticated payload; the caller decodes and checks the claims.
func verifyBySubject(tok []byte, typ string, reg Registrars, now time.Time, skew time.Duration, c codes) (*SubjectCert, []byte, error) {
	if len(tok) > MaxTokenSize {
		return nil, nil, schemas.Errorf(c.shape, "token too large")
	}
	h, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, nil, schemas.Wrap(c.shape, err, "not a compact JWS in the profile")
	}
	if h.Type != typ {
		return nil, nil, schemas.Wrap(c.signature, jose.ErrType, "wrong token type")
	}
	payload, err := payloadOf(tok)
	if err != nil {
		return nil, nil, schemas.Wrap(c.shape, err, "not a compact JWS in the profile")
	}
	var embedded struct {
		SubjectCert string `json:"sub_cert"`
	}
	if err := json.Unmarshal(payload, &embedded); err != nil {
		return nil, nil, schemas.Wrap(c.shape, err, "claims are not a JSON object")
	}
	cert, err := VerifySubjectCert([]byte(embedded.SubjectCert), reg, now, skew)
	if err != nil {
		return nil, nil, err
	}
	if h.KeyID != cert.KeyID() {
		return nil, nil, schemas.Errorf(c.signature, "not signed with the certified subject key")
	}
	verified, _, err := jose.Verify(tok, typ, cert.Key)
	if err != nil {
		return nil, nil, schemas.Wrap(c.signature, err, "signature does not verify under the certified subject key")
	}
	return cert, verified, nil
}

// signAsSubject signs claims of type typ with the subject's key, after
// checking that the key is the one subjectCert binds and that the certificate
// has not expired at now. build receives the (unauthenticated, the signer's
// own) certificate to fill in the subject id.
func signAsSubject(subjectKey crypto.Signer, subjectCert []byte, typ string, now time.Time, build func(cert *SubjectCert) (any, error)) ([]byte, error) {
	if subjectKey == nil {
		return nil, invalidf("no subject key")
	}
	pub, ok := subjectKey.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: subject key is not Ed25519", ErrKeyMismatch)
	}
	cert, _, err := decodeSubjectCert(subjectCert)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	if expired(cert.Claims.Expiry, now, 0) {
		return nil, fmt.Errorf("%w: expired", ErrCertificate)
	}
	if !pub.Equal(cert.Key) {
		return nil, ErrKeyMismatch
	}
	claims, err := build(cert)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	return jose.Sign(subjectKey, cert.KeyID(), typ, payload)
}
