// Package jose is the node's narrow profile of JOSE (RFC 7515 JWS, RFC 7516
// JWE, RFC 8037 for Ed25519 and X25519), built on github.com/lestrrat-go/jwx/v3.
//
// The profile admits exactly one form of each:
//
//   - JWS: compact serialisation, alg "EdDSA" (Ed25519), protected header
//     {alg, kid, typ} and nothing else, a 64-byte signature.
//   - JWE: compact serialisation, alg "ECDH-ES+A256KW" with an X25519
//     ephemeral key, enc "A256GCM", protected header {alg, enc, epk, kid, cty, typ}
//     and nothing else, no compression.
//
// Everything outside the profile is rejected before any key is touched: "none"
// in any case, HMAC or other algorithms (key confusion), embedded "jwk",
// "jku", "x5u", "x5c", any "crit", duplicate members in the header or its
// "epk", the JSON serialisation, missing or extra parts, a JWS without "typ",
// and base64 that is not the canonical unpadded base64url form (so one token
// has exactly one byte form). The jwx library then does the cryptography on
// input that already fits the profile. Verify also refuses Ed25519 public keys
// of small order, under which Go's ed25519.Verify accepts forgeries, and
// Encrypt refuses X25519 recipients of low order (see WeakEd25519Key).
//
// The Wycheproof JOSE vectors hold no Ed25519 or X25519 cases; the tests run
// all of them as must-reject inputs and take known answers from RFC 8037.
//
// The package never logs and never returns key material in errors.
package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Limits on outside input.
const (
	// MaxTokenSize bounds any token this package parses.
	MaxTokenSize = 8 << 20
	// MaxKIDLength bounds the "kid" header (threats.md item 4).
	MaxKIDLength = 128
	maxHeaderLen = 4096
)

// Errors returned by this package. Callers map them to wire codes; they say
// which rule failed without echoing the input.
var (
	// ErrMalformed: the token is not a compact JWS/JWE of the right shape.
	ErrMalformed = errors.New("jose: malformed token")
	// ErrHeader: the protected header has a forbidden, unknown or duplicate member.
	ErrHeader = errors.New("jose: header outside the profile")
	// ErrAlgorithm: the algorithm is not the one the profile allows.
	ErrAlgorithm = errors.New("jose: algorithm not allowed")
	// ErrType: the "typ" header is not the expected token type.
	ErrType = errors.New("jose: unexpected token type")
	// ErrSignature: the signature does not verify under the given key.
	ErrSignature = errors.New("jose: signature does not verify")
	// ErrDecrypt: the JWE could not be decrypted with the given key.
	ErrDecrypt = errors.New("jose: decryption failed")
)

const (
	algEdDSA    = "EdDSA"
	algECDHESKW = "ECDH-ES+A256KW"
	encA256GCM  = "A256GCM"
)

// Header is the protected header of a token that fits the profile.
type Header struct {
	Algorithm   string
	KeyID       string
	Type        string
	ContentType string // JWE only
}

var b64 = base64.RawURLEncoding.Strict()

// decodeCanonical decodes one base64url segment and insists that it is the
// unique canonical encoding of its bytes (threats.md item 7).
func decodeCanonical(seg []byte) ([]byte, error) {
	out := make([]byte, b64.DecodedLen(len(seg)))
	n, err := b64.Decode(out, seg)
	if err != nil {
		return nil, ErrMalformed
	}
	out = out[:n]
	if b64.EncodedLen(n) != len(seg) {
		return nil, ErrMalformed
	}
	return out, nil
}

// splitCompact splits a compact token into exactly n non-separator parts.
func splitCompact(tok []byte, n int) ([][]byte, error) {
	if len(tok) == 0 || len(tok) > MaxTokenSize {
		return nil, ErrMalformed
	}
	parts := bytes.Split(tok, []byte{'.'})
	if len(parts) != n {
		return nil, ErrMalformed
	}
	return parts, nil
}

// parseHeader decodes a protected header, rejecting duplicate members and any
// member not in allowed.
func parseHeader(seg []byte, allowed map[string]bool) (map[string]json.RawMessage, error) {
	if len(seg) > maxHeaderLen {
		return nil, ErrHeader
	}
	raw, err := decodeCanonical(seg)
	if err != nil {
		return nil, err
	}
	return decodeObject(raw, allowed)
}

// decodeObject decodes one JSON object, rejecting duplicate members and, if
// allowed is not nil, any member not in allowed. It is used for the protected header and for the
// "epk" inside it, so that no member can be read one way here and another way
// by jwx (encoding/json silently keeps the last of two duplicates).
func decodeObject(raw []byte, allowed map[string]bool) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, ErrMalformed
	}
	obj := make(map[string]json.RawMessage)
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, ErrMalformed
		}
		key, ok := kt.(string)
		if !ok {
			return nil, ErrMalformed
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, ErrMalformed
		}
		if _, dup := obj[key]; dup {
			return nil, fmt.Errorf("%w: duplicate member %q", ErrHeader, truncate(key))
		}
		if allowed != nil && !allowed[key] {
			return nil, fmt.Errorf("%w: member %q", ErrHeader, truncate(key))
		}
		obj[key] = val
	}
	if _, err := dec.Token(); err != nil { // closing brace
		return nil, ErrMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrMalformed
	}
	return obj, nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func headerString(hdr map[string]json.RawMessage, key string) (string, error) {
	raw, ok := hdr[key]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %q is not a string", ErrHeader, key)
	}
	return s, nil
}

// validKID accepts key ids of 1..MaxKIDLength characters from the base64url
// alphabet plus ':' (RFC 7638 thumbprints and "vault:name:version" ids).
func validKID(kid string) bool {
	if kid == "" || len(kid) > MaxKIDLength {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

var jwsHeaderMembers = map[string]bool{"alg": true, "kid": true, "typ": true}

// ParseJWSHeader checks that tok is a compact JWS in the profile and returns its
// protected header without verifying the signature. Use it to pick the
// verification key by kid; never trust anything else in the token before Verify.
func ParseJWSHeader(tok []byte) (Header, error) {
	parts, err := splitCompact(tok, 3)
	if err != nil {
		return Header{}, err
	}
	hdr, err := parseHeader(parts[0], jwsHeaderMembers)
	if err != nil {
		return Header{}, err
	}
	var h Header
	if h.Algorithm, err = headerString(hdr, "alg"); err != nil {
		return Header{}, err
	}
	if h.Algorithm != algEdDSA {
		return Header{}, ErrAlgorithm
	}
	if h.KeyID, err = headerString(hdr, "kid"); err != nil {
		return Header{}, err
	}
	if !validKID(h.KeyID) {
		return Header{}, fmt.Errorf("%w: bad kid", ErrHeader)
	}
	if h.Type, err = headerString(hdr, "typ"); err != nil {
		return Header{}, err
	}
	if h.Type == "" { // every profile token names its type (threats.md item 10)
		return Header{}, fmt.Errorf("%w: missing typ", ErrHeader)
	}
	if len(parts[1]) == 0 { // detached or empty payloads are outside the profile
		return Header{}, ErrMalformed
	}
	if _, err := decodeCanonical(parts[1]); err != nil {
		return Header{}, err
	}
	sig, err := decodeCanonical(parts[2])
	if err != nil {
		return Header{}, err
	}
	if len(sig) != ed25519.SignatureSize {
		return Header{}, ErrSignature
	}
	return h, nil
}

// Sign makes a compact JWS over payload with the Ed25519 signer, naming kid
// and typ in the protected header. signer may be an ed25519.PrivateKey or any
// crypto.Signer whose public key is an ed25519.PublicKey (a Vault-backed key).
func Sign(signer crypto.Signer, kid, typ string, payload []byte) ([]byte, error) {
	if _, ok := signer.Public().(ed25519.PublicKey); !ok {
		return nil, fmt.Errorf("jose: signer is not Ed25519")
	}
	if !validKID(kid) {
		return nil, fmt.Errorf("jose: invalid kid")
	}
	if typ == "" {
		return nil, fmt.Errorf("jose: empty typ")
	}
	hdrs := jws.NewHeaders()
	if err := hdrs.Set(jws.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := hdrs.Set(jws.TypeKey, typ); err != nil {
		return nil, err
	}
	key := any(signer)
	if priv, ok := signer.(ed25519.PrivateKey); ok {
		key = priv
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.EdDSA(), key, jws.WithProtectedHeaders(hdrs)))
	if err != nil {
		return nil, fmt.Errorf("jose: sign: %w", err)
	}
	return out, nil
}

// Verify checks that tok is a compact JWS in the profile, of type typ, signed
// by pub, and returns its payload and header. typ must not be empty.
func Verify(tok []byte, typ string, pub ed25519.PublicKey) ([]byte, Header, error) {
	h, err := ParseJWSHeader(tok)
	if err != nil {
		return nil, Header{}, err
	}
	if typ == "" || h.Type != typ {
		return nil, Header{}, ErrType
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, Header{}, ErrSignature
	}
	if WeakEd25519Key(pub) {
		return nil, Header{}, fmt.Errorf("%w: public key of small order", ErrSignature)
	}
	payload, err := jws.Verify(tok, jws.WithKey(jwa.EdDSA(), pub))
	if err != nil {
		return nil, Header{}, ErrSignature
	}
	return payload, h, nil
}

var jweHeaderMembers = map[string]bool{"alg": true, "enc": true, "epk": true, "kid": true, "cty": true, "typ": true}

// Encrypt makes a compact JWE of plaintext to the X25519 recipient key, with
// alg ECDH-ES+A256KW, enc A256GCM, and the recipient's kid and cty in the
// protected header. Each call uses a fresh ephemeral key and content key.
func Encrypt(plaintext []byte, recipient *ecdh.PublicKey, kid, cty string) ([]byte, error) {
	if recipient == nil || recipient.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("jose: recipient is not an X25519 key")
	}
	if WeakX25519Key(recipient.Bytes()) {
		return nil, fmt.Errorf("jose: recipient key of low order")
	}
	if !validKID(kid) {
		return nil, fmt.Errorf("jose: invalid kid")
	}
	hdrs := jwe.NewHeaders()
	if err := hdrs.Set(jwe.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := hdrs.Set(jwe.ContentTypeKey, cty); err != nil {
		return nil, err
	}
	out, err := jwe.Encrypt(plaintext,
		jwe.WithKey(jwa.ECDH_ES_A256KW(), recipient),
		jwe.WithContentEncryption(jwa.A256GCM()),
		jwe.WithProtectedHeaders(hdrs),
		jwe.WithCompact())
	if err != nil {
		return nil, fmt.Errorf("jose: encrypt: %w", err)
	}
	return out, nil
}

// ParseJWEHeader checks that tok is a compact JWE in the profile and returns
// its protected header.
func ParseJWEHeader(tok []byte) (Header, error) {
	parts, err := splitCompact(tok, 5)
	if err != nil {
		return Header{}, err
	}
	hdr, err := parseHeader(parts[0], jweHeaderMembers)
	if err != nil {
		return Header{}, err
	}
	var h Header
	if h.Algorithm, err = headerString(hdr, "alg"); err != nil {
		return Header{}, err
	}
	enc, err := headerString(hdr, "enc")
	if err != nil {
		return Header{}, err
	}
	if h.Algorithm != algECDHESKW || enc != encA256GCM {
		return Header{}, ErrAlgorithm
	}
	if err := checkEPK(hdr["epk"]); err != nil {
		return Header{}, err
	}
	if h.KeyID, err = headerString(hdr, "kid"); err != nil {
		return Header{}, err
	}
	if !validKID(h.KeyID) {
		return Header{}, fmt.Errorf("%w: bad kid", ErrHeader)
	}
	if h.ContentType, err = headerString(hdr, "cty"); err != nil {
		return Header{}, err
	}
	if h.Type, err = headerString(hdr, "typ"); err != nil {
		return Header{}, err
	}
	// A256KW wraps the 32-byte content key into 40 bytes; GCM uses a 96-bit
	// IV and a 128-bit tag (threats.md item 8: empty or short encrypted key).
	wantLen := []int{-1, 40, 12, -1, 16}
	for i := 1; i < 5; i++ {
		b, err := decodeCanonical(parts[i])
		if err != nil {
			return Header{}, err
		}
		if wantLen[i] >= 0 && len(b) != wantLen[i] {
			return Header{}, ErrMalformed
		}
	}
	return h, nil
}

// checkEPK insists on an X25519 ephemeral public key of 32 bytes and nothing
// else: no duplicate members, no private "d", no other curve. Low-order points
// pass this check and are refused by crypto/ecdh during decryption.
func checkEPK(raw json.RawMessage) error {
	if raw == nil {
		return fmt.Errorf("%w: missing epk", ErrHeader)
	}
	epk, err := decodeObject(raw, nil)
	if err != nil {
		return fmt.Errorf("%w: epk", ErrHeader)
	}
	kty, err1 := headerString(epk, "kty")
	crv, err2 := headerString(epk, "crv")
	x, err3 := headerString(epk, "x")
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("%w: epk", ErrHeader)
	}
	if kty != "OKP" || crv != "X25519" {
		return fmt.Errorf("%w: epk is not X25519", ErrAlgorithm)
	}
	if len(epk) != 3 {
		return fmt.Errorf("%w: epk member", ErrHeader)
	}
	pub, err := decodeCanonical([]byte(x))
	if err != nil || len(pub) != 32 {
		return fmt.Errorf("%w: epk", ErrHeader)
	}
	return nil
}

// Decrypt checks that tok is a compact JWE in the profile and decrypts it with
// the X25519 private key. Low-order ephemeral keys fail (crypto/ecdh rejects
// an all-zero shared secret).
func Decrypt(tok []byte, priv *ecdh.PrivateKey) ([]byte, Header, error) {
	h, err := ParseJWEHeader(tok)
	if err != nil {
		return nil, Header{}, err
	}
	if priv == nil || priv.Curve() != ecdh.X25519() {
		return nil, Header{}, ErrDecrypt
	}
	pt, err := jwe.Decrypt(tok, jwe.WithKey(jwa.ECDH_ES_A256KW(), priv))
	if err != nil {
		return nil, Header{}, ErrDecrypt
	}
	return pt, h, nil
}
