package paillier

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
)

// Fuzz tests: the decoders of outside input must never panic, must return
// only this package's sentinel errors, and what they accept must re-encode
// to exactly the input (one encoding per value).

func FuzzParseCiphertext(f *testing.F) {
	pk := testKey().Public()
	for _, v := range loadKATs(f) {
		for _, c := range v.Cases {
			f.Add(unhex(f, c.C))
		}
	}
	ct, _ := pk.EncryptInt64(42)
	f.Add(ct.Bytes())
	f.Add(pk.nSquared.Bytes())
	f.Add(make([]byte, pk.CiphertextSize()))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := pk.ParseCiphertext(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !bytes.Equal(got.Bytes(), b) {
			t.Fatal("accepted a second encoding")
		}
		if got.c.Sign() <= 0 || got.c.Cmp(pk.nSquared) >= 0 || new(big.Int).GCD(nil, nil, got.c, pk.n).Cmp(one) != 0 {
			t.Fatal("accepted a value outside Z*_{n²}")
		}
		if _, err := testKey().Decrypt(got); err != nil {
			t.Fatal(err)
		}
		txt, _ := got.MarshalText()
		if back, err := pk.ParseCiphertextText(txt); err != nil || !bytes.Equal(back.Bytes(), b) {
			t.Fatal("text round trip")
		}
	})
}

func FuzzParseCiphertextText(f *testing.F) {
	pk := testKey().Public()
	ct, _ := pk.EncryptInt64(-1)
	txt, _ := ct.MarshalText()
	f.Add(txt)
	f.Add(append(txt, '='))
	f.Fuzz(func(t *testing.T, s []byte) {
		got, err := pk.ParseCiphertextText(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if back, _ := got.MarshalText(); !bytes.Equal(back, s) {
			t.Fatal("accepted a second text encoding")
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	opts := Options{AllowInsecureSize: true}
	for _, v := range loadKATs(f) {
		f.Add(bigDec(f, v.N).Bytes(), false)
	}
	j, _ := testKey().Public().MarshalJSON()
	f.Add(j, true)
	f.Add([]byte(`{"kty":"Paillier","n":"TQ"}`), true)
	f.Add([]byte(`{"n":"TQ","kty":"Paillier"}`), true)
	f.Fuzz(func(t *testing.T, b []byte, isJSON bool) {
		var pk *PublicKey
		var err error
		if isJSON {
			pk, err = ParsePublicKeyJSON(b, opts)
		} else {
			pk, err = ParsePublicKey(b, opts)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrKeySize) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !isJSON {
			if back, _ := pk.MarshalBinary(); !bytes.Equal(back, b) {
				t.Fatal("accepted a second binary encoding")
			}
		}
		// Whatever key was accepted must be usable without panics.
		if pk.Bits() < 16 {
			return
		}
		ct, err := pk.EncryptInt64(1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pk.ParseCiphertext(ct.Bytes()); err != nil {
			t.Fatal(err)
		}
	})
}
