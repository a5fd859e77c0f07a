package jose

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wycheproofFile is the part of a Wycheproof JOSE vector file the tests use.
type wycheproofFile struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		Comment string `json:"comment"`
		Private struct {
			KeyType string `json:"kty"`
			Curve   string `json:"crv"`
			Alg     string `json:"alg"`
		} `json:"private"`
		Tests []struct {
			TcID    int             `json:"tcId"`
			Comment string          `json:"comment"`
			JWS     json.RawMessage `json:"jws"`
			JWE     json.RawMessage `json:"jwe"`
			Result  string          `json:"result"`
			Flags   []string        `json:"flags"`
		} `json:"tests"`
	} `json:"testGroups"`
}

func loadWycheproof(t *testing.T, name string) *wycheproofFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f wycheproofFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

// tokenBytes turns a vector's token into the bytes a peer would send: the
// compact string itself, or the JSON serialisation as JSON text.
func tokenBytes(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []byte(s)
	}
	return []byte(raw)
}

// inProfileJWS reports whether a Wycheproof signature group is in the
// profile (Ed25519). The v0.3 JOSE files have none: EdDSA vectors live in
// Wycheproof's eddsa_test.json, not in the JOSE files.
func inProfileJWS(kty, crv string) bool { return kty == "OKP" && crv == "Ed25519" }

func inProfileJWE(kty, crv, alg string) bool {
	return kty == "OKP" && crv == "X25519" && alg == algECDHESKW
}

// isSentinel reports whether err is one of this package's documented errors,
// so rejections never leak jwx errors (or key material in them).
func isSentinel(err error) bool {
	for _, s := range []error{ErrMalformed, ErrHeader, ErrAlgorithm, ErrType, ErrSignature, ErrDecrypt} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestWycheproofJWS runs every vector of json_web_signature_test.json. None
// is an Ed25519 vector, so every one, including those Wycheproof marks valid
// for its own algorithm, must be rejected by ParseJWSHeader and Verify, and
// by Decrypt (a JWS where a JWE is expected).
func TestWycheproofJWS(t *testing.T) {
	f := loadWycheproof(t, "json_web_signature_test.json")
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	xPriv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	n := 0
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			n++
			name := fmt.Sprintf("tc%d_%s_%s", tc.TcID, g.Comment, tc.Comment)
			t.Run(name, func(t *testing.T) {
				if inProfileJWS(g.Private.KeyType, g.Private.Curve) {
					t.Fatalf("in-profile vector found: extend this test to check result %q", tc.Result)
				}
				tok := tokenBytes(t, tc.JWS)
				if _, err := ParseJWSHeader(tok); !isSentinel(err) {
					t.Errorf("ParseJWSHeader: got %v, want a profile rejection", err)
				}
				if _, _, err := Verify(tok, testTyp, edPub); !isSentinel(err) {
					t.Errorf("Verify: got %v, want a profile rejection", err)
				}
				if _, _, err := Decrypt(tok, xPriv); !isSentinel(err) {
					t.Errorf("Decrypt: got %v, want a profile rejection", err)
				}
			})
		}
	}
	if n != f.NumberOfTests {
		t.Fatalf("ran %d vectors, file declares %d", n, f.NumberOfTests)
	}
}

// TestWycheproofJWE runs every vector of json_web_encryption_test.json. None
// uses X25519, so every one must be rejected by ParseJWEHeader and Decrypt,
// and by Verify (a JWE where a JWS is expected). The ECDH-ES+A256KW/A256GCM
// vectors on P-256 must fail on the algorithm rule specifically.
func TestWycheproofJWE(t *testing.T) {
	f := loadWycheproof(t, "json_web_encryption_test.json")
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	xPriv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	n := 0
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			n++
			name := fmt.Sprintf("tc%d_%s_%s", tc.TcID, g.Comment, tc.Comment)
			t.Run(name, func(t *testing.T) {
				if inProfileJWE(g.Private.KeyType, g.Private.Curve, g.Private.Alg) {
					t.Fatalf("in-profile vector found: extend this test to check result %q", tc.Result)
				}
				tok := tokenBytes(t, tc.JWE)
				_, herr := ParseJWEHeader(tok)
				if !isSentinel(herr) {
					t.Errorf("ParseJWEHeader: got %v, want a profile rejection", herr)
				}
				if _, _, err := Decrypt(tok, xPriv); !isSentinel(err) {
					t.Errorf("Decrypt: got %v, want a profile rejection", err)
				}
				if _, _, err := Verify(tok, testTyp, edPub); !isSentinel(err) {
					t.Errorf("Verify: got %v, want a profile rejection", err)
				}
				if g.Private.Alg == algECDHESKW && g.Private.KeyType == "EC" && tc.JWE[0] == '"' &&
					strings.Contains(headerJSON(t, tok), `"enc":"A256GCM"`) && !errors.Is(herr, ErrAlgorithm) {
					t.Errorf("P-256 ECDH-ES+A256KW/A256GCM: got %v, want ErrAlgorithm", herr)
				}
			})
		}
	}
	if n != f.NumberOfTests {
		t.Fatalf("ran %d vectors, file declares %d", n, f.NumberOfTests)
	}
}
