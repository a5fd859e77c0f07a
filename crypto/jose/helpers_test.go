package jose

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// This file builds tokens by hand, independently of jwx, so that tests can
// craft tokens that are correctly signed or encrypted but break one rule of
// the profile. A token that is rejected must be rejected for the rule under
// test, never merely because its signature or tag was wrong.

var enc = base64.RawURLEncoding

const testTyp = "cx-test+jwt"

// fixedSigner is the RFC 8037 appendix A.1 Ed25519 key.
func fixedSigner(t testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	seed := mustB64(t, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	priv := ed25519.NewKeyFromSeed(seed)
	return priv, priv.Public().(ed25519.PublicKey)
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := enc.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 %q: %v", s, err)
	}
	return b
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawJWS signs header and payload exactly as given (header is JSON text).
func rawJWS(priv ed25519.PrivateKey, header string, payload []byte) []byte {
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload)
	sig := ed25519.Sign(priv, []byte(input))
	return []byte(input + "." + enc.EncodeToString(sig))
}

// jwsHeader is a profile header with the given kid, plus extra members
// (already JSON-encoded "name":value pairs) appended.
func jwsHeader(kid string, extra ...string) string {
	members := append([]string{`"alg":"EdDSA"`, `"kid":` + jsonString(kid), `"typ":"` + testTyp + `"`}, extra...)
	return "{" + strings.Join(members, ",") + "}"
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// concatKDF is the RFC 7518 section 4.6.2 key derivation for a 256-bit key
// with empty apu and apv.
func concatKDF(z []byte, alg string) []byte {
	h := sha256.New()
	var buf [4]byte
	binary.BigEndian.PutUint32(buf[:], 1) // round 1
	h.Write(buf[:])
	h.Write(z)
	binary.BigEndian.PutUint32(buf[:], uint32(len(alg)))
	h.Write(buf[:])
	h.Write([]byte(alg))
	binary.BigEndian.PutUint32(buf[:], 0) // apu
	h.Write(buf[:])
	h.Write(buf[:]) // apv
	binary.BigEndian.PutUint32(buf[:], 256)
	h.Write(buf[:])
	return h.Sum(nil)
}

// aesKeyWrap is RFC 3394 key wrap with the default IV.
func aesKeyWrap(kek, key []byte) []byte {
	block, err := aes.NewCipher(kek)
	if err != nil {
		panic(err)
	}
	n := len(key) / 8
	a := []byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}
	r := make([][]byte, n)
	for i := range r {
		r[i] = append([]byte(nil), key[8*i:8*i+8]...)
	}
	b := make([]byte, 16)
	for j := 0; j < 6; j++ {
		for i := 0; i < n; i++ {
			copy(b, a)
			copy(b[8:], r[i])
			block.Encrypt(b, b)
			t := uint64(n*j + i + 1)
			binary.BigEndian.PutUint64(a, binary.BigEndian.Uint64(b[:8])^t)
			copy(r[i], b[8:])
		}
	}
	out := append([]byte(nil), a...)
	for _, ri := range r {
		out = append(out, ri...)
	}
	return out
}

// jweParts are the inputs of a hand-made JWE.
type jweParts struct {
	header string // protected header JSON; "%EPK%" is replaced by the epk JSON
	z      []byte // shared secret to derive the KEK from (nil: compute by ECDH)
	epk    []byte // ephemeral public key bytes (nil: fresh key)
}

// rawJWE encrypts plaintext to recipient with ECDH-ES+A256KW and A256GCM
// under the given header, computing everything by hand.
func rawJWE(t testing.TB, recipient *ecdh.PublicKey, p jweParts, plaintext []byte) []byte {
	t.Helper()
	z := p.z
	epk := p.epk
	if epk == nil {
		eph, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		epk = eph.PublicKey().Bytes()
		if z == nil {
			if z, err = eph.ECDH(recipient); err != nil {
				t.Fatal(err)
			}
		}
	}
	epkJSON := `{"kty":"OKP","crv":"X25519","x":"` + enc.EncodeToString(epk) + `"}`
	hdr := strings.ReplaceAll(p.header, "%EPK%", epkJSON)
	kek := concatKDF(z, algECDHESKW)
	cek := make([]byte, 32)
	iv := make([]byte, 12)
	rand.Read(cek)
	rand.Read(iv)
	wrapped := aesKeyWrap(kek, cek)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	h64 := enc.EncodeToString([]byte(hdr))
	sealed := gcm.Seal(nil, iv, plaintext, []byte(h64))
	ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	return []byte(strings.Join([]string{h64, enc.EncodeToString(wrapped), enc.EncodeToString(iv),
		enc.EncodeToString(ct), enc.EncodeToString(tag)}, "."))
}

// jweHeader is a profile JWE header plus extra members.
func jweHeader(kid string, extra ...string) string {
	members := append([]string{`"alg":"ECDH-ES+A256KW"`, `"enc":"A256GCM"`, `"epk":%EPK%`, `"kid":` + jsonString(kid), `"cty":"cx"`}, extra...)
	return "{" + strings.Join(members, ",") + "}"
}

// replacePart replaces part i of a dot-separated token.
func replacePart(tok []byte, i int, part string) []byte {
	parts := strings.Split(string(tok), ".")
	parts[i] = part
	return []byte(strings.Join(parts, "."))
}

// headerJSON returns the decoded protected header of a compact token.
func headerJSON(t testing.TB, tok []byte) string {
	t.Helper()
	return string(mustB64(t, strings.SplitN(string(tok), ".", 2)[0]))
}
