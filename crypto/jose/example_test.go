package jose_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/creditexchange/node/crypto/jose"
)

// A node signs a request with its Ed25519 key; the peer picks the key by kid
// and verifies, naming the token type it expects.
func ExampleSign() {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	const kid = "node-a-signing-1" // in the node: keys.SigningKID(pub)

	tok, err := jose.Sign(priv, kid, "cx-request+jwt", []byte(`{"purpose":"credit_review"}`))
	if err != nil {
		panic(err)
	}

	h, err := jose.ParseJWSHeader(tok) // choose the key by h.KeyID
	if err != nil {
		panic(err)
	}
	payload, _, err := jose.Verify(tok, "cx-request+jwt", pub)
	fmt.Println(h.KeyID, string(payload), err)

	// The same token presented as another type is refused.
	_, _, err = jose.Verify(tok, "cx-consent+jwt", pub)
	fmt.Println(errors.Is(err, jose.ErrType))
	// Output:
	// node-a-signing-1 {"purpose":"credit_review"} <nil>
	// true
}

// A provider encrypts its response to the requester's X25519 key; only the
// holder of the private key can decrypt it.
func ExampleEncrypt() {
	requester, _ := ecdh.X25519().GenerateKey(rand.Reader)
	const kid = "node-b-encryption-1" // in the node: keys.EncryptionKID(pub)

	tok, err := jose.Encrypt([]byte(`{"records":[]}`), requester.PublicKey(), kid, "cx-response+jwt")
	if err != nil {
		panic(err)
	}
	pt, h, err := jose.Decrypt(tok, requester)
	fmt.Println(string(pt), h.KeyID, h.ContentType, err)

	eavesdropper, _ := ecdh.X25519().GenerateKey(rand.Reader)
	_, _, err = jose.Decrypt(tok, eavesdropper)
	fmt.Println(errors.Is(err, jose.ErrDecrypt))
	// Output:
	// {"records":[]} node-b-encryption-1 cx-response+jwt <nil>
	// true
}
