package jose

import (
	"strings"
	"testing"
)

// Tampering: no single change to a valid token may still verify or decrypt.
// Two kinds: flipping a bit of the token text (which mostly breaks the
// base64), and flipping a bit of the decoded bytes of one part and
// re-encoding it canonically (which reaches the cryptography).

func TestTamperJWS(t *testing.T) {
	priv, pub := fixedSigner(t)
	tok, err := Sign(priv, testKID, testTyp, testPayload)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tok { // a JWS is ~200 characters: every position
		for _, bit := range []byte{0x01, 0x20} {
			bad := append([]byte(nil), tok...)
			bad[i] ^= bit
			if _, _, err := Verify(bad, testTyp, pub); !isSentinel(err) {
				t.Fatalf("text byte %d ^ %#x: got %v", i, bit, err)
			}
		}
	}
	parts := strings.Split(string(tok), ".")
	for p := range parts {
		raw := mustB64(t, parts[p])
		for i := range raw {
			for bit := 0; bit < 8; bit += 3 {
				mod := append([]byte(nil), raw...)
				mod[i] ^= 1 << bit
				bad := replacePart(tok, p, enc.EncodeToString(mod))
				if _, _, err := Verify(bad, testTyp, pub); !isSentinel(err) {
					t.Fatalf("part %d byte %d bit %d: got %v", p, i, bit, err)
				}
			}
		}
	}
}

func TestTamperJWE(t *testing.T) {
	k := mustX25519(t)
	tok, err := Encrypt(testPayload, k.PublicKey(), testKID, "cx")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Decrypt(tok, k); err != nil {
		t.Fatal(err)
	}
	// Text positions: every 3rd character, every separator and the
	// character after it (a JWE is ~400 characters here).
	for i := 0; i < len(tok); i++ {
		if i%3 != 0 && tok[i] != '.' && (i == 0 || tok[i-1] != '.') {
			continue
		}
		bad := append([]byte(nil), tok...)
		bad[i] ^= 0x01
		if _, _, err := Decrypt(bad, k); !isSentinel(err) {
			t.Fatalf("text byte %d: got %v", i, err)
		}
	}
	parts := strings.Split(string(tok), ".")
	for p := range parts {
		raw := mustB64(t, parts[p])
		for i := range raw {
			mod := append([]byte(nil), raw...)
			mod[i] ^= 0x80 >> (i % 8)
			bad := replacePart(tok, p, enc.EncodeToString(mod))
			if _, _, err := Decrypt(bad, k); !isSentinel(err) {
				t.Fatalf("part %d byte %d: got %v", p, i, err)
			}
		}
	}
}
