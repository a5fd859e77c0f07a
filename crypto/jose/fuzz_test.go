package jose

import (
	"bytes"
	"crypto/ecdh"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz tests: the parsers must never panic, must only return this package's
// sentinel errors, and must accept no second form of a valid token.

// addWycheproofSeeds adds every token of a Wycheproof file in testdata.
func addWycheproofSeeds(f *testing.F, name, field string) {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	var file struct {
		TestGroups []struct {
			Tests []map[string]json.RawMessage `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		f.Fatal(err)
	}
	for _, g := range file.TestGroups {
		for _, tc := range g.Tests {
			var s string
			if json.Unmarshal(tc[field], &s) == nil {
				f.Add([]byte(s))
			} else {
				f.Add([]byte(tc[field]))
			}
		}
	}
}

// fixedX25519 is a fixed recipient key, so that a fuzz corpus saved by one
// run stays encrypted to the key of the next.
func fixedX25519(t testing.TB) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func addJWSSeeds(f *testing.F) []byte {
	priv, _ := fixedSigner(f)
	valid, err := Sign(priv, testKID, testTyp, testPayload)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(rawJWS(priv, jwsHeader(testKID, `"alg":"none"`), testPayload))
	f.Add(rawJWS(priv, jwsHeader(testKID, `"epk":{"kty":"OKP"}`), testPayload))
	f.Add(rawJWS(priv, `{"alg":"EdDSA","kid":"`+testKID+`","typ":"`+testTyp+`","crit":["b64"],"b64":false}`, testPayload))
	f.Add([]byte(strings.NewReplacer("-", "+", "_", "/").Replace(string(valid))))
	addWycheproofSeeds(f, "json_web_signature_test.json", "jws")
	return valid
}

func addJWESeeds(f *testing.F, k *ecdh.PrivateKey) {
	valid, err := Encrypt(testPayload, k.PublicKey(), testKID, "cx")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(rawJWE(f, k.PublicKey(), jweParts{header: jweHeader(testKID, `"zip":"DEF"`)}, testPayload))
	f.Add(rawJWE(f, k.PublicKey(), jweParts{header: jweHeader(testKID), epk: make([]byte, 32), z: make([]byte, 32)}, testPayload))
	f.Add(replacePart(valid, 1, ""))
	addWycheproofSeeds(f, "json_web_encryption_test.json", "jwe")
}

func FuzzParseJWSHeader(f *testing.F) {
	addJWSSeeds(f)
	f.Fuzz(func(t *testing.T, tok []byte) {
		h, err := ParseJWSHeader(tok)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("non-sentinel error %v", err)
			}
			return
		}
		if h.Algorithm != algEdDSA || !validKID(h.KeyID) || h.Type == "" {
			t.Fatalf("accepted header outside the profile: %+v", h)
		}
		for _, part := range bytes.Split(tok, []byte{'.'}) {
			b, err := enc.DecodeString(string(part))
			if err != nil || enc.EncodeToString(b) != string(part) {
				t.Fatalf("accepted non-canonical part %q", part)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	_, pub := fixedSigner(f)
	valid := addJWSSeeds(f)
	f.Fuzz(func(t *testing.T, tok []byte) {
		payload, _, err := Verify(tok, testTyp, pub)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("non-sentinel error %v", err)
			}
			return
		}
		// Ed25519 under the fixed key is deterministic and the profile
		// admits one byte form: the only token that verifies is the seed.
		if !bytes.Equal(tok, valid) || !bytes.Equal(payload, testPayload) {
			t.Fatalf("accepted a second form %q", tok)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	k := fixedX25519(f)
	addJWESeeds(f, k)
	f.Fuzz(func(t *testing.T, tok []byte) {
		pt, h, err := Decrypt(tok, k)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("non-sentinel error %v", err)
			}
			return
		}
		// Only the seeds are encrypted to this key, all of testPayload.
		if !bytes.Equal(pt, testPayload) || h.Algorithm != algECDHESKW {
			t.Fatalf("decrypted something unexpected: %q %+v", pt, h)
		}
		if _, err := ParseJWEHeader(tok); err != nil {
			t.Fatalf("Decrypt accepted what ParseJWEHeader rejects: %v", err)
		}
	})
}
