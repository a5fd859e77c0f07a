package jose

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok, err := Sign(priv, "kid-1", "t+jws", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	payload, h, err := Verify(tok, "t+jws", pub)
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != `{"a":1}` || h.KeyID != "kid-1" {
		t.Fatalf("got %s %+v", payload, h)
	}
	if _, _, err := Verify(tok, "other+jws", pub); !errors.Is(err, ErrType) {
		t.Fatalf("wrong typ accepted: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, _, err := Verify(tok, "t+jws", other); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong key accepted: %v", err)
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	k, _ := ecdh.X25519().GenerateKey(rand.Reader)
	tok, err := Encrypt([]byte("secret"), k.PublicKey(), "kid-2", "cx")
	if err != nil {
		t.Fatal(err)
	}
	pt, h, err := Decrypt(tok, k)
	if err != nil {
		t.Fatal(err)
	}
	if string(pt) != "secret" || h.KeyID != "kid-2" || h.ContentType != "cx" {
		t.Fatalf("got %q %+v", pt, h)
	}
	other, _ := ecdh.X25519().GenerateKey(rand.Reader)
	if _, _, err := Decrypt(tok, other); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key decrypted: %v", err)
	}
}
