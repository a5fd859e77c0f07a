package jose

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// Known-answer tests for the profile's primitives. The Wycheproof JOSE files
// hold no Ed25519 or X25519 vectors, so these come from RFC 8037 appendix A
// and RFC 7748 section 6.1 (constants copied into this file).

// RFC 8037 A.4: the Ed25519 JWS example. Its header {"alg":"EdDSA"} has no
// kid and no typ, so the profile must reject it even though the signature is
// correct; the signature itself must verify under the RFC key.
func TestRFC8037JWS(t *testing.T) {
	const tok = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." +
		"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	priv, pub := fixedSigner(t)
	if got := enc.EncodeToString(pub); got != "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" {
		t.Fatalf("RFC 8037 A.1 public key: got %s", got)
	}
	parts := strings.Split(tok, ".")
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), mustB64(t, parts[2])) {
		t.Fatal("RFC 8037 A.4 signature does not verify: vector copied wrongly")
	}
	if _, _, err := Verify([]byte(tok), testTyp, pub); !errors.Is(err, ErrHeader) {
		t.Fatalf("header without kid/typ: got %v, want ErrHeader", err)
	}

	// The same key through Sign: Ed25519 is deterministic, so the token is
	// exactly the hand-built one with the profile header in this order.
	payload := []byte("Example of Ed25519 signing")
	got, err := Sign(priv, testKID, testTyp, payload)
	if err != nil {
		t.Fatal(err)
	}
	want := rawJWS(priv, `{"alg":"EdDSA","kid":"`+testKID+`","typ":"`+testTyp+`"}`, payload)
	if !bytes.Equal(got, want) {
		t.Fatalf("Sign output\n got %s\nwant %s", got, want)
	}
	out, h, err := Verify(got, testTyp, pub)
	if err != nil || !bytes.Equal(out, payload) || h != (Header{Algorithm: "EdDSA", KeyID: testKID, Type: testTyp}) {
		t.Fatalf("Verify: %v %q %+v", err, out, h)
	}
}

// RFC 8037 A.6 / RFC 7748 6.1: the X25519 key agreement example. A JWE built
// by hand with the RFC's ephemeral key and shared secret must decrypt with
// the RFC's recipient key: this checks jwx's ECDH-ES, Concat KDF, AES key
// wrap and GCM against an independent implementation (helpers_test.go).
func TestRFC8037X25519(t *testing.T) {
	bob, err := ecdh.X25519().NewPrivateKey(mustHex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
	if err != nil {
		t.Fatal(err)
	}
	if got := enc.EncodeToString(bob.PublicKey().Bytes()); got != "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08" {
		t.Fatalf("RFC 8037 A.6 recipient key: got %s", got)
	}
	ephPub := mustB64(t, "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo")
	z := mustHex(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
	eph, _ := ecdh.X25519().NewPublicKey(ephPub)
	if shared, err := bob.ECDH(eph); err != nil || !bytes.Equal(shared, z) {
		t.Fatalf("RFC 7748 shared secret mismatch: %x %v", shared, err)
	}
	plaintext := []byte(`{"subject":"91350100M000100Y43"}`)
	tok := rawJWE(t, bob.PublicKey(), jweParts{header: jweHeader(testKID), epk: ephPub, z: z}, plaintext)
	got, h, err := Decrypt(tok, bob)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plaintext) || h != (Header{Algorithm: algECDHESKW, KeyID: testKID, ContentType: "cx"}) {
		t.Fatalf("got %q %+v", got, h)
	}
	// A wrong shared secret (as from a wrong key) must not decrypt.
	bad := rawJWE(t, bob.PublicKey(), jweParts{header: jweHeader(testKID), epk: ephPub, z: make([]byte, 32)}, plaintext)
	if _, _, err := Decrypt(bad, bob); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("got %v, want ErrDecrypt", err)
	}
}

// Encrypt must produce exactly the profile header, which ParseJWEHeader
// accepts, and a fresh ephemeral key and IV per call.
func TestEncryptProfileShape(t *testing.T) {
	k := mustX25519(t)
	a, err := Encrypt(testPayload, k.PublicKey(), testKID, "cx")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt(testPayload, k.PublicKey(), testKID, "cx")
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := strings.Split(string(a), "."), strings.Split(string(b), ".")
	for i := range pa {
		if pa[i] == pb[i] {
			t.Errorf("part %d repeated across two encryptions", i)
		}
	}
	h := headerJSON(t, a)
	for _, m := range []string{`"alg":"ECDH-ES+A256KW"`, `"enc":"A256GCM"`, `"kid":"` + testKID + `"`, `"cty":"cx"`, `"crv":"X25519"`} {
		if !strings.Contains(h, m) {
			t.Errorf("header %s lacks %s", h, m)
		}
	}
	if _, err := ParseJWEHeader(a); err != nil {
		t.Fatalf("own output outside the profile: %v", err)
	}
}

func TestSignEncryptRejectBadArguments(t *testing.T) {
	priv, _ := fixedSigner(t)
	if _, err := Sign(priv, "../x", testTyp, testPayload); err == nil {
		t.Error("Sign accepted a bad kid")
	}
	if _, err := Sign(priv, testKID, "", testPayload); err == nil {
		t.Error("Sign accepted an empty typ")
	}
	p256, _ := ecdh.P256().GenerateKey(nil)
	if _, err := Encrypt(testPayload, p256.PublicKey(), testKID, "cx"); err == nil {
		t.Error("Encrypt accepted a P-256 recipient")
	}
	if _, err := Encrypt(testPayload, nil, testKID, "cx"); err == nil {
		t.Error("Encrypt accepted a nil recipient")
	}
	if _, err := Encrypt(testPayload, mustX25519(t).PublicKey(), "a b", "cx"); err == nil {
		t.Error("Encrypt accepted a bad kid")
	}
}
