package feeds

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
)

// Errors of Open. They say which layer failed, never what the input held.
var (
	// ErrDecrypt: the age file does not decrypt under this node's identity:
	// not age, another recipient, a bad header MAC, a truncated or altered
	// chunk, trailing data, a low-order share, or larger than MaxBatchBytes.
	ErrDecrypt = errors.New("feeds: batch does not decrypt")
	// ErrUnsigned: the age file decrypts but does not hold a batch token
	// signed by the claimed provider's registered key. age authenticates no
	// sender: anyone holding our public key can make a valid age file.
	ErrUnsigned = errors.New("feeds: batch is not signed by the provider")
)

// Seal signs payload as a TypBatch JWS and encrypts the token with age to
// the recipient's X25519 key.
func Seal(signer crypto.Signer, kid string, payload []byte, to *ecdh.PublicKey) ([]byte, error) {
	tok, err := jose.Sign(signer, kid, TypBatch, payload)
	if err != nil {
		return nil, err
	}
	r, err := keys.AgeRecipient(to)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(tok); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// KeyFunc returns the provider's registered signing key for kid.
type KeyFunc func(kid string) (ed25519.PublicKey, bool)

// Open decrypts an age file with identity and verifies the JWS inside
// under the provider's key, returning the payload. The whole file is read:
// age reports a truncated last chunk or trailing data only at the end.
func Open(sealed []byte, identity *ecdh.PrivateKey, key KeyFunc) ([]byte, error) {
	id, err := keys.AgeIdentity(identity)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	tok, err := io.ReadAll(io.LimitReader(r, MaxBatchBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if len(tok) > MaxBatchBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrDecrypt, MaxBatchBytes)
	}
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsigned, err)
	}
	pub, ok := key(hdr.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: kid is not a registered key of the provider", ErrUnsigned)
	}
	payload, _, err := jose.Verify(tok, TypBatch, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsigned, err)
	}
	return payload, nil
}
