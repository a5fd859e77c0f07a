package jose

import (
	"bytes"
	"testing"
)

// A typical response body is about 2 KB of JSON.
var benchPayload = bytes.Repeat([]byte(`{"category":"tax_arrears","v":1},`), 2048/33)

func BenchmarkSign(b *testing.B) {
	priv, _ := fixedSigner(b)
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if _, err := Sign(priv, testKID, testTyp, benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	priv, pub := fixedSigner(b)
	tok, err := Sign(priv, testKID, testTyp, benchPayload)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if _, _, err := Verify(tok, testTyp, pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	k := fixedX25519(b)
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if _, err := Encrypt(benchPayload, k.PublicKey(), testKID, "cx"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k := fixedX25519(b)
	tok, err := Encrypt(benchPayload, k.PublicKey(), testKID, "cx")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if _, _, err := Decrypt(tok, k); err != nil {
			b.Fatal(err)
		}
	}
}
