package jose

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The weak-key lists are not paranoia: under every listed Ed25519 key, Go's
// ed25519.Verify accepts a signature (S = 0, R a small-order point) for a
// message nobody signed, found here in a few tries. Verify must refuse them.
func TestWeakEd25519Keys(t *testing.T) {
	keys := strings.Fields(smallOrderEd25519)
	for _, h := range keys {
		pub := ed25519.PublicKey(mustHex(t, h))
		if !WeakEd25519Key(pub) {
			t.Fatalf("%s not reported weak", h)
		}
		tok := forgeSmallOrder(t, pub, keys)
		if tok == nil {
			t.Errorf("%s: no forgery found; is the key really of small order?", h)
			continue
		}
		if _, _, err := Verify(tok, testTyp, pub); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: forged token: got %v, want ErrSignature", h, err)
		}
	}
	_, pub := fixedSigner(t)
	if WeakEd25519Key(pub) || WeakEd25519Key(pub[:31]) {
		t.Fatal("ordinary or short key reported weak")
	}
}

// forgeSmallOrder returns a profile JWS that ed25519.Verify accepts under
// pub without any private key, or nil.
func forgeSmallOrder(t *testing.T, pub ed25519.PublicKey, rs []string) []byte {
	for m := 0; m < 32; m++ {
		hdr := enc.EncodeToString([]byte(jwsHeader(testKID)))
		input := hdr + "." + enc.EncodeToString([]byte(fmt.Sprintf(`{"transfer":%d}`, m)))
		for _, r := range rs {
			sig := append(mustHex(t, r), make([]byte, 32)...)
			if ed25519.Verify(pub, []byte(input), sig) {
				return []byte(input + "." + enc.EncodeToString(sig))
			}
		}
	}
	return nil
}

// Every listed X25519 encoding is a point crypto/ecdh refuses to agree
// with, and Encrypt refuses it as a recipient.
func TestWeakX25519Keys(t *testing.T) {
	k := mustX25519(t)
	for _, h := range strings.Fields(lowOrderX25519) {
		b := mustHex(t, h)
		if !WeakX25519Key(b) {
			t.Fatalf("%s not reported weak", h)
		}
		pub, err := ecdh.X25519().NewPublicKey(b)
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if _, err := k.ECDH(pub); err == nil {
			t.Errorf("%s: ECDH succeeded, point is not of low order", h)
		}
		if _, err := Encrypt(testPayload, pub, testKID, "cx"); err == nil {
			t.Errorf("%s: Encrypt accepted a low-order recipient", h)
		}
	}
	if WeakX25519Key(k.PublicKey().Bytes()) {
		t.Fatal("ordinary key reported weak")
	}
}
