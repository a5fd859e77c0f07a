package paillier

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
)

// Encodings.
//
// A public key's binary form is the modulus n, big-endian, without leading
// zero bytes; its JSON form is {"kty":"Paillier","n":"<base64url of that>"}.
// A ciphertext's binary form is c, big-endian, left-padded to exactly
// CiphertextSize() bytes (the length of n²); its text form (MarshalText, so
// also its JSON string) is the unpadded base64url of those bytes.
// The binary parsers accept exactly one encoding of each value; the JSON
// parser accepts exactly one set of members, each once.

// maxSmallPrime bounds the trial division ParsePublicKey does on moduli.
const maxSmallPrime = 1000

const jsonKeyType = "Paillier"

var b64 = base64.RawURLEncoding

// MarshalBinary returns n, big-endian, minimal length.
func (pk *PublicKey) MarshalBinary() ([]byte, error) {
	return pk.n.Bytes(), nil
}

// MarshalJSON returns {"kty":"Paillier","n":"…"}.
func (pk *PublicKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kty string `json:"kty"`
		N   string `json:"n"`
	}{jsonKeyType, b64.EncodeToString(pk.n.Bytes())})
}

// ParsePublicKey decodes the binary form of a public key and checks it: no
// leading zero byte, odd, within the size rules of opts, not a prime, not a
// perfect square, and (for moduli of at least MinBits) no prime factor below
// 1000. (A modulus that passes can
// still be malformed in ways only its owner can rule out; a peer's key should
// come from a signed source such as the federation registry.)
func ParsePublicKey(b []byte, opts Options) (*PublicKey, error) {
	if len(b) == 0 || b[0] == 0 || len(b) > MaxBits/8 {
		return nil, ErrMalformed
	}
	n := new(big.Int).SetBytes(b)
	if err := opts.checkBits(n.BitLen()); err != nil {
		return nil, err
	}
	if n.Bit(0) == 0 || n.ProbablyPrime(0) {
		return nil, ErrInvalidKey
	}
	if s := new(big.Int).Sqrt(n); s.Mul(s, s).Cmp(n) == 0 {
		return nil, ErrInvalidKey
	}
	if n.BitLen() >= MinBits { // test-sized moduli may have small factors
		m := new(big.Int)
		for d := int64(3); d < maxSmallPrime; d += 2 {
			if m.Mod(n, big.NewInt(d)).Sign() == 0 {
				return nil, ErrInvalidKey
			}
		}
	}
	return newPublicKey(n), nil
}

// ParsePublicKeyJSON decodes the JSON form strictly: exactly the members
// "kty" (which must be "Paillier") and "n", no duplicates, no trailing data,
// canonical unpadded base64url.
func ParsePublicKeyJSON(data []byte, opts Options) (*PublicKey, error) {
	members, err := strictObject(data, "kty", "n")
	if err != nil {
		return nil, err
	}
	if members["kty"] != jsonKeyType {
		return nil, ErrMalformed
	}
	b, err := decodeB64(members["n"])
	if err != nil {
		return nil, err
	}
	return ParsePublicKey(b, opts)
}

// Bytes returns the fixed-length binary form of the ciphertext.
func (ct *Ciphertext) Bytes() []byte {
	return ct.c.FillBytes(make([]byte, ct.pk.size))
}

// MarshalBinary returns Bytes().
func (ct *Ciphertext) MarshalBinary() ([]byte, error) { return ct.Bytes(), nil }

// MarshalText returns the base64url form; used by encoding/json.
func (ct *Ciphertext) MarshalText() ([]byte, error) {
	return []byte(b64.EncodeToString(ct.Bytes())), nil
}

// ParseCiphertext decodes a ciphertext under pk from its binary form: exactly
// CiphertextSize() bytes, and a value in Z*_{n²}: 0 < c < n², gcd(c, n) = 1.
// A ciphertext made under a different key is rejected when its length or
// range gives it away; nothing can detect a valid-looking one.
func (pk *PublicKey) ParseCiphertext(b []byte) (*Ciphertext, error) {
	if len(b) != pk.size {
		return nil, ErrMalformed
	}
	c := new(big.Int).SetBytes(b)
	if c.Sign() == 0 || c.Cmp(pk.nSquared) >= 0 {
		return nil, ErrInvalidCiphertext
	}
	if new(big.Int).GCD(nil, nil, c, pk.n).Cmp(one) != 0 {
		return nil, ErrInvalidCiphertext
	}
	return &Ciphertext{pk: pk, c: c}, nil
}

// ParseCiphertextText decodes the base64url text form (as found in JSON).
func (pk *PublicKey) ParseCiphertextText(s []byte) (*Ciphertext, error) {
	if len(s) != b64.EncodedLen(pk.size) {
		return nil, ErrMalformed
	}
	b, err := decodeB64(string(s))
	if err != nil {
		return nil, err
	}
	return pk.ParseCiphertext(b)
}

// decodeB64 decodes canonical unpadded base64url only.
func decodeB64(s string) ([]byte, error) {
	b, err := b64.Strict().DecodeString(s)
	if err != nil {
		return nil, ErrMalformed
	}
	return b, nil
}

// strictObject parses a JSON object whose members are exactly names, each a
// string, each once, with nothing after the object.
func strictObject(data []byte, names ...string) (map[string]string, error) {
	if len(data) > 4*MaxBits {
		return nil, ErrMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, ErrMalformed
	}
	out := make(map[string]string, len(names))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, ErrMalformed
		}
		name, ok := tok.(string)
		if !ok {
			return nil, ErrMalformed
		}
		if _, dup := out[name]; dup {
			return nil, ErrMalformed
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, ErrMalformed
		}
		val, ok := tok.(string)
		if !ok {
			return nil, ErrMalformed
		}
		out[name] = val
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, ErrMalformed
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrMalformed
	}
	if len(out) != len(names) {
		return nil, ErrMalformed
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, ErrMalformed
		}
	}
	return out, nil
}
