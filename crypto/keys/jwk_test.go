package keys

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditexchange/node/crypto/jose"
)

var b64 = base64.RawURLEncoding

// TestWycheproofJWK runs every vector of json_web_key_test.json. None holds
// an OKP key, so every key in every set must be refused by the JWK parsers,
// every set by ParseSigningJWKS, and every token by jose.Verify.
func TestWycheproofJWK(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "json_web_key_test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			Comment string          `json:"comment"`
			Private json.RawMessage `json:"private"`
			Public  json.RawMessage `json:"public"`
			Tests   []struct {
				TcID    int    `json:"tcId"`
				Comment string `json:"comment"`
				JWS     string `json:"jws"`
				Result  string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	n := 0
	for gi, g := range file.TestGroups {
		for _, set := range []json.RawMessage{g.Private, g.Public} {
			if set == nil {
				continue
			}
			var ks struct{ Keys []json.RawMessage }
			if err := json.Unmarshal(set, &ks); err != nil {
				t.Fatal(err)
			}
			for ki, k := range ks.Keys {
				t.Run(fmt.Sprintf("group%d_%s_key%d", gi, g.Comment, ki), func(t *testing.T) {
					if strings.Contains(string(k), `"OKP"`) {
						t.Fatal("OKP key in the vectors: extend this test")
					}
					if _, _, err := ParseSigningJWK(k); !errors.Is(err, ErrJWK) {
						t.Errorf("ParseSigningJWK: got %v, want ErrJWK", err)
					}
					if _, _, err := ParseEncryptionJWK(k); !errors.Is(err, ErrJWK) {
						t.Errorf("ParseEncryptionJWK: got %v, want ErrJWK", err)
					}
				})
			}
			if _, err := ParseSigningJWKS(set); !errors.Is(err, ErrJWK) {
				t.Errorf("group %d %s: ParseSigningJWKS: got %v, want ErrJWK", gi, g.Comment, err)
			}
		}
		for _, tc := range g.Tests {
			n++
			t.Run(fmt.Sprintf("tc%d_%s", tc.TcID, tc.Comment), func(t *testing.T) {
				if _, _, err := jose.Verify([]byte(tc.JWS), "JWT", pub); err == nil {
					t.Fatal("jose.Verify accepted a non-EdDSA token")
				}
			})
		}
	}
	if n != file.NumberOfTests {
		t.Fatalf("ran %d vectors, file declares %d", n, file.NumberOfTests)
	}
}

func TestParseJWKRejects(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	x := b64.EncodeToString(pub)
	xk, _ := ecdh.X25519().GenerateKey(rand.Reader)
	xx := b64.EncodeToString(xk.PublicKey().Bytes())
	good := `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}`
	if _, _, err := ParseSigningJWK([]byte(good)); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	sig := []struct{ name, jwk string }{
		{"private_d", `{"kty":"OKP","crv":"Ed25519","x":"` + x + `","d":"` + b64.EncodeToString(priv.Seed()) + `"}`},
		{"duplicate_x", `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(make([]byte, 32)) + `","x":"` + x + `"}`},
		{"duplicate_crv", `{"kty":"OKP","crv":"X25519","crv":"Ed25519","x":"` + x + `"}`},
		{"upper_case_member", `{"KTY":"OKP","crv":"Ed25519","x":"` + x + `"}`},
		{"unknown_member", `{"kty":"OKP","crv":"Ed25519","x":"` + x + `","x5u":"https://attacker.example"}`},
		{"use_enc", `{"kty":"OKP","crv":"Ed25519","x":"` + x + `","use":"enc"}`},
		{"alg_HS256", `{"kty":"OKP","crv":"Ed25519","x":"` + x + `","alg":"HS256"}`},
		{"crv_X25519", `{"kty":"OKP","crv":"X25519","x":"` + x + `"}`},
		{"kty_EC", `{"kty":"EC","crv":"Ed25519","x":"` + x + `"}`},
		{"x_padded", `{"kty":"OKP","crv":"Ed25519","x":"` + x + `="}`},
		{"x_std_alphabet", `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xef}, 16)) + `"}`}, // has '+' and '/'
		{"x_31_bytes", `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(pub[:31]) + `"}`},
		{"x_number", `{"kty":"OKP","crv":"Ed25519","x":5}`},
		{"kid_not_thumbprint", `{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"other"}`},
		{"trailing_data", good + `{}`},
		{"array", `[` + good + `]`},
	}
	for _, c := range sig {
		t.Run("signing_"+c.name, func(t *testing.T) {
			if _, _, err := ParseSigningJWK([]byte(c.jwk)); !errors.Is(err, ErrJWK) {
				t.Fatalf("got %v, want ErrJWK", err)
			}
		})
	}
	encCases := []struct{ name, jwk string }{
		{"private_d", `{"kty":"OKP","crv":"X25519","x":"` + xx + `","d":"` + b64.EncodeToString(xk.Bytes()) + `"}`},
		{"use_sig", `{"kty":"OKP","crv":"X25519","x":"` + xx + `","use":"sig"}`},
		{"alg_ECDH-ES", `{"kty":"OKP","crv":"X25519","x":"` + xx + `","alg":"ECDH-ES"}`},
		{"crv_Ed25519", `{"kty":"OKP","crv":"Ed25519","x":"` + xx + `"}`},
		{"kid_not_thumbprint", `{"kty":"OKP","crv":"X25519","x":"` + xx + `","kid":"` + SigningKID(pub) + `"}`},
	}
	for _, c := range encCases {
		t.Run("encryption_"+c.name, func(t *testing.T) {
			if _, _, err := ParseEncryptionJWK([]byte(c.jwk)); !errors.Is(err, ErrJWK) {
				t.Fatalf("got %v, want ErrJWK", err)
			}
		})
	}
}

// Weak keys (jose.WeakEd25519Key, jose.WeakX25519Key, tested in crypto/jose)
// are refused by the parsers: a sample of canonical and non-canonical ones.
func TestParseJWKRejectsWeakKeys(t *testing.T) {
	for _, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1
	} {
		a, _ := hex.DecodeString(h)
		j := `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(a) + `"}`
		if _, _, err := ParseSigningJWK([]byte(j)); !errors.Is(err, ErrJWK) {
			t.Errorf("Ed25519 %s: got %v, want ErrJWK", h, err)
		}
	}
	for _, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	} {
		a, _ := hex.DecodeString(h)
		j := `{"kty":"OKP","crv":"X25519","x":"` + b64.EncodeToString(a) + `"}`
		if _, _, err := ParseEncryptionJWK([]byte(j)); !errors.Is(err, ErrJWK) {
			t.Errorf("X25519 %s: got %v, want ErrJWK", h, err)
		}
	}
	// A JWKS holding one such key is refused as a whole.
	set := `{"keys":[` + string(mustJSON(t, SigningJWK(mustEdPub(t)))) + `,{"kty":"OKP","crv":"Ed25519","x":"` +
		b64.EncodeToString(make([]byte, 32)) + `"}]}`
	if _, err := ParseSigningJWKS([]byte(set)); !errors.Is(err, ErrJWK) {
		t.Fatalf("JWKS with a small-order key: got %v", err)
	}
}

func TestParseSigningJWKS(t *testing.T) {
	a, b := mustEdPub(t), mustEdPub(t)
	xk, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ja, jb, jx := string(mustJSON(t, SigningJWK(a))), string(mustJSON(t, SigningJWK(b))), string(mustJSON(t, EncryptionJWK(xk.PublicKey())))
	got, err := ParseSigningJWKS([]byte(`{"keys":[` + ja + `,` + jx + `,` + jb + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[SigningKID(a)].Equal(a) || !got[SigningKID(b)].Equal(b) {
		t.Fatalf("got %v", got)
	}
	for name, set := range map[string]string{
		"duplicate_key": `{"keys":[` + ja + `,` + ja + `]}`,
		"hmac_secret":   `{"keys":[` + ja + `,{"kty":"oct","k":"c2VjcmV0"}]}`,
		"rsa_private":   `{"keys":[` + ja + `,{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ"}]}`,
		"only_x25519":   `{"keys":[` + jx + `]}`,
		"empty":         `{"keys":[]}`,
		"not_json":      `{"keys":`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseSigningJWKS([]byte(set)); !errors.Is(err, ErrJWK) {
				t.Fatalf("got %v, want ErrJWK", err)
			}
		})
	}
}

// What the node publishes, it must accept back.
func TestPublicJWKSRoundTrip(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	set := k.PublicJWKS()
	raw := mustJSON(t, set)
	sig, err := ParseSigningJWKS(raw)
	if err != nil || !sig[k.SigningKID].Equal(k.SigningPublic()) {
		t.Fatalf("signing keys: %v %v", sig, err)
	}
	pub, kid, err := ParseEncryptionJWK(mustJSON(t, set.Keys[1]))
	if err != nil || kid != k.EncryptionKID || !pub.Equal(k.Encryption.PublicKey()) {
		t.Fatalf("encryption key: %v %s", err, kid)
	}
}

func FuzzParseJWK(f *testing.F) {
	k, _ := Generate()
	for _, j := range k.PublicJWKS().Keys {
		b, _ := json.Marshal(j)
		f.Add(b)
	}
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","x":"AA"}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if pub, kid, err := ParseSigningJWK(raw); err == nil {
			if len(pub) != ed25519.PublicKeySize || kid != SigningKID(pub) || jose.WeakEd25519Key(pub) {
				t.Fatalf("accepted a bad signing key")
			}
		} else if !errors.Is(err, ErrJWK) {
			t.Fatalf("non-sentinel error %v", err)
		}
		if pub, kid, err := ParseEncryptionJWK(raw); err == nil {
			if kid != EncryptionKID(pub) || jose.WeakX25519Key(pub.Bytes()) {
				t.Fatalf("accepted a bad encryption key")
			}
		} else if !errors.Is(err, ErrJWK) {
			t.Fatalf("non-sentinel error %v", err)
		}
		if set, err := ParseSigningJWKS(raw); err == nil {
			for kid, pub := range set {
				if kid != SigningKID(pub) {
					t.Fatalf("kid %s does not match key", kid)
				}
			}
		} else if !errors.Is(err, ErrJWK) {
			t.Fatalf("non-sentinel error %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustEdPub(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
