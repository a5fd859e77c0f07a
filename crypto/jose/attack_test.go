package jose

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// Attack tests follow threats.md items 1-10 as they apply to the JOSE layer.
// Every forged token below is correctly signed (or encrypted) with the key
// the verifier uses, unless the case is about the signature itself, so a
// rejection proves that the profile rule fired.

const testKID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" // RFC 8037 A.3 thumbprint

var testPayload = []byte(`{"iss":"node-a","aud":"node-b","jti":"0f6c"}`)

func TestJWSAttacks(t *testing.T) {
	priv, pub := fixedSigner(t)
	attackerPub, attackerPriv, _ := ed25519.GenerateKey(rand.Reader)
	valid := rawJWS(priv, jwsHeader(testKID), testPayload)
	if _, _, err := Verify(valid, testTyp, pub); err != nil {
		t.Fatalf("baseline token rejected: %v", err)
	}
	parts := strings.Split(string(valid), ".")
	sig := mustB64(t, parts[2])

	hs256 := func(key []byte, header string) []byte {
		input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(testPayload)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(input))
		return []byte(input + "." + enc.EncodeToString(m.Sum(nil)))
	}
	unsigned := func(header string, sig string) []byte {
		return []byte(enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(testPayload) + "." + sig)
	}
	attackerJWK := `{"kty":"OKP","crv":"Ed25519","x":"` + enc.EncodeToString(attackerPub) + `"}`

	cases := []struct {
		name string
		tok  []byte
		want error
	}{
		// 1. alg none, any case, empty signature.
		{"alg_none", unsigned(`{"alg":"none","kid":"`+testKID+`","typ":"`+testTyp+`"}`, ""), ErrAlgorithm},
		{"alg_noNE", unsigned(`{"alg":"noNE","kid":"`+testKID+`","typ":"`+testTyp+`"}`, ""), ErrAlgorithm},
		{"alg_NONE_with_signature", unsigned(`{"alg":"NONE","kid":"`+testKID+`","typ":"`+testTyp+`"}`, parts[2]), ErrAlgorithm},
		{"alg_missing", rawJWS(priv, `{"kid":"`+testKID+`","typ":"`+testTyp+`"}`, testPayload), ErrAlgorithm},
		{"alg_not_string", rawJWS(priv, `{"alg":["EdDSA"],"kid":"`+testKID+`","typ":"`+testTyp+`"}`, testPayload), ErrHeader},
		{"alg_lowercase_eddsa", rawJWS(priv, `{"alg":"eddsa","kid":"`+testKID+`","typ":"`+testTyp+`"}`, testPayload), ErrAlgorithm},
		{"alg_Ed25519", rawJWS(priv, `{"alg":"Ed25519","kid":"`+testKID+`","typ":"`+testTyp+`"}`, testPayload), ErrAlgorithm},
		{"alg_trailing_space", rawJWS(priv, `{"alg":"EdDSA ","kid":"`+testKID+`","typ":"`+testTyp+`"}`, testPayload), ErrAlgorithm},
		{"empty_signature", []byte(parts[0] + "." + parts[1] + "."), ErrSignature},
		{"signature_63_bytes", []byte(parts[0] + "." + parts[1] + "." + enc.EncodeToString(sig[:63])), ErrSignature},
		{"signature_65_bytes", []byte(parts[0] + "." + parts[1] + "." + enc.EncodeToString(append(sig[:64:64], 0))), ErrSignature},
		{"signature_zero", []byte(parts[0] + "." + parts[1] + "." + enc.EncodeToString(make([]byte, 64))), ErrSignature},
		{"signature_S_plus_L", []byte(parts[0] + "." + parts[1] + "." + enc.EncodeToString(malleate(sig))), ErrSignature},

		// 2. key confusion: HMAC with the Ed25519 public key as the secret.
		{"hs256_pubkey_as_secret", hs256(pub, `{"alg":"HS256","kid":"`+testKID+`","typ":"`+testTyp+`"}`), ErrAlgorithm},
		{"hs256_mac_under_eddsa_header", hs256(pub, jwsHeader(testKID)), ErrSignature},
		{"hs512_pubkey_as_secret", hs256(pub, `{"alg":"HS512","kid":"`+testKID+`","typ":"`+testTyp+`"}`), ErrAlgorithm},
		{"es256", rawJWS(priv, `{"alg":"ES256","kid":"`+testKID+`","typ":"`+testTyp+`"}`, testPayload), ErrAlgorithm},
		{"rs256", rawJWS(priv, `{"alg":"RS256","kid":"`+testKID+`","typ":"`+testTyp+`"}`, testPayload), ErrAlgorithm},

		// 3. the attacker's own key, or a key URL, in the header.
		{"embedded_jwk", rawJWS(attackerPriv, jwsHeader(testKID, `"jwk":`+attackerJWK), testPayload), ErrHeader},
		{"embedded_jwk_signed_by_us", rawJWS(priv, jwsHeader(testKID, `"jwk":`+attackerJWK), testPayload), ErrHeader},
		{"jku", rawJWS(priv, jwsHeader(testKID, `"jku":"https://attacker.example/jwks.json"`), testPayload), ErrHeader},
		{"x5u", rawJWS(priv, jwsHeader(testKID, `"x5u":"https://attacker.example/cert.pem"`), testPayload), ErrHeader},
		{"x5c", rawJWS(priv, jwsHeader(testKID, `"x5c":["MIIB"]`), testPayload), ErrHeader},
		{"x5t", rawJWS(priv, jwsHeader(testKID, `"x5t#S256":"AAAA"`), testPayload), ErrHeader},

		// 4. hostile kid.
		{"kid_path_traversal", rawJWS(priv, jwsHeader("../../../etc/passwd"), testPayload), ErrHeader},
		{"kid_sql", rawJWS(priv, jwsHeader("x' OR '1'='1"), testPayload), ErrHeader},
		{"kid_sql_comment", rawJWS(priv, jwsHeader("1;DROP TABLE keys--"), testPayload), ErrHeader},
		{"kid_10KB", rawJWS(priv, jwsHeader(strings.Repeat("A", 10<<10)), testPayload), ErrHeader},
		{"kid_129_chars", rawJWS(priv, jwsHeader(strings.Repeat("A", MaxKIDLength+1)), testPayload), ErrHeader},
		{"kid_empty", rawJWS(priv, jwsHeader(""), testPayload), ErrHeader},
		{"kid_missing", rawJWS(priv, `{"alg":"EdDSA","typ":"`+testTyp+`"}`, testPayload), ErrHeader},
		{"kid_nul", rawJWS(priv, jwsHeader("a\x00b"), testPayload), ErrHeader},
		{"kid_unicode", rawJWS(priv, jwsHeader("kіd"), testPayload), ErrHeader},
		{"kid_number", rawJWS(priv, `{"alg":"EdDSA","kid":42,"typ":"`+testTyp+`"}`, testPayload), ErrHeader},

		// 5. crit, and what crit usually carries.
		{"crit_unknown", rawJWS(priv, jwsHeader(testKID, `"crit":["x-unknown"]`, `"x-unknown":1`), testPayload), ErrHeader},
		{"crit_empty", rawJWS(priv, jwsHeader(testKID, `"crit":[]`), testPayload), ErrHeader},
		{"b64_false", rawJWS(priv, jwsHeader(testKID, `"b64":false`, `"crit":["b64"]`), testPayload), ErrHeader},
		{"unknown_member", rawJWS(priv, jwsHeader(testKID, `"exp":1`), testPayload), ErrHeader},
		{"case_variant_member", rawJWS(priv, jwsHeader(testKID, `"ALG":"none"`), testPayload), ErrHeader},

		// 6. JSON serialisation, several signatures, wrong number of parts.
		{"json_flattened", []byte(`{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`), ErrMalformed},
		{"json_general", []byte(`{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`), ErrMalformed},
		{"json_no_protected", []byte(`{"payload":"` + parts[1] + `","signatures":[{"header":{"alg":"EdDSA","kid":"` + testKID + `"},"signature":"` + parts[2] + `"}]}`), ErrMalformed},
		{"json_two_signatures", []byte(`{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"},{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`), ErrMalformed},
		{"two_parts", []byte(parts[0] + "." + parts[1]), ErrMalformed},
		{"four_parts", []byte(string(valid) + "." + parts[2]), ErrMalformed},
		{"trailing_dot", []byte(string(valid) + "."), ErrMalformed},
		{"leading_dot", []byte("." + string(valid)), ErrMalformed},
		{"empty_header", []byte("." + parts[1] + "." + parts[2]), ErrMalformed},
		{"empty_payload", []byte(parts[0] + ".." + parts[2]), ErrMalformed},
		{"all_empty", []byte(".."), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"over_max_size", append(bytes.Repeat([]byte("A"), MaxTokenSize), valid...), ErrMalformed},

		// 7. a second byte form of the same token.
		{"padding_on_signature", []byte(string(valid) + "=="), ErrMalformed},
		{"padding_on_header", []byte(parts[0] + "=." + parts[1] + "." + parts[2]), ErrMalformed},
		{"std_alphabet", stdAlphabet(t, priv), ErrMalformed},
		{"trailing_bits_signature", []byte(parts[0] + "." + parts[1] + "." + setTrailingBits(t, parts[2])), ErrMalformed},
		{"trailing_bits_payload", []byte(parts[0] + "." + setTrailingBits(t, parts[1]) + "." + parts[2]), ErrMalformed},
		{"newline_in_signature", []byte(parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:]), ErrMalformed},
		{"cr_in_header", []byte(parts[0][:4] + "\r" + parts[0][4:] + "." + parts[1] + "." + parts[2]), ErrMalformed},
		{"space_in_payload", []byte(parts[0] + ". " + parts[1] + "." + parts[2]), ErrMalformed},

		// Duplicate header members: each parser might keep a different one.
		{"duplicate_alg", rawJWS(priv, jwsHeader(testKID, `"alg":"none"`), testPayload), ErrHeader},
		{"duplicate_alg_escaped", rawJWS(priv, jwsHeader(testKID, `"\u0061lg":"EdDSA"`), testPayload), ErrHeader},
		{"duplicate_kid", rawJWS(priv, jwsHeader(testKID, `"kid":"other"`), testPayload), ErrHeader},
		{"duplicate_typ", rawJWS(priv, jwsHeader(testKID, `"typ":"other+jwt"`), testPayload), ErrHeader},

		// Header that is not one JSON object.
		{"header_array", rawJWS(priv, `["alg","EdDSA"]`, testPayload), ErrMalformed},
		{"header_trailing_garbage", rawJWS(priv, jwsHeader(testKID)+`x`, testPayload), ErrMalformed},
		{"header_two_objects", rawJWS(priv, jwsHeader(testKID)+`{}`, testPayload), ErrMalformed},
		{"header_not_json", rawJWS(priv, `{alg:EdDSA}`, testPayload), ErrMalformed},
		{"header_too_long", rawJWS(priv, jwsHeader(testKID, `"x":"`+strings.Repeat("a", maxHeaderLen)+`"`), testPayload), ErrHeader},

		// 10. typ.
		{"typ_missing", rawJWS(priv, `{"alg":"EdDSA","kid":"`+testKID+`"}`, testPayload), ErrHeader},
		{"typ_other", rawJWS(priv, `{"alg":"EdDSA","kid":"`+testKID+`","typ":"cx-consent+jwt"}`, testPayload), ErrType},
		{"typ_case", rawJWS(priv, `{"alg":"EdDSA","kid":"`+testKID+`","typ":"`+strings.ToUpper(testTyp)+`"}`, testPayload), ErrType},

		// Signature by another key.
		{"wrong_key", rawJWS(attackerPriv, jwsHeader(testKID), testPayload), ErrSignature},
		{"payload_swapped", []byte(parts[0] + "." + enc.EncodeToString([]byte(`{"iss":"node-x"}`)) + "." + parts[2]), ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Verify(c.tok, testTyp, pub)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify: got %v, want %v", err, c.want)
			}
		})
	}

	t.Run("key_confusion_pub_as_hmac_verified_by_jwx_never_reached", func(t *testing.T) {
		// Even a caller who only parses the header must see the refusal.
		if _, err := ParseJWSHeader(hs256(pub, `{"alg":"HS256","kid":"`+testKID+`","typ":"`+testTyp+`"}`)); !errors.Is(err, ErrAlgorithm) {
			t.Fatalf("got %v, want ErrAlgorithm", err)
		}
	})
	t.Run("empty_expected_typ", func(t *testing.T) {
		if _, _, err := Verify(valid, "", pub); !errors.Is(err, ErrType) {
			t.Fatalf("got %v, want ErrType", err)
		}
	})
	t.Run("short_public_key", func(t *testing.T) {
		if _, _, err := Verify(valid, testTyp, pub[:31]); !errors.Is(err, ErrSignature) {
			t.Fatalf("got %v, want ErrSignature", err)
		}
	})
	t.Run("nil_public_key", func(t *testing.T) {
		if _, _, err := Verify(valid, testTyp, nil); !errors.Is(err, ErrSignature) {
			t.Fatalf("got %v, want ErrSignature", err)
		}
	})
	t.Run("jwe_where_jws_expected", func(t *testing.T) {
		x, _ := ecdh.X25519().GenerateKey(rand.Reader)
		jwe, err := Encrypt(testPayload, x.PublicKey(), testKID, "cx")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Verify(jwe, testTyp, pub); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v, want ErrMalformed", err)
		}
	})
	t.Run("error_does_not_echo_kid", func(t *testing.T) {
		secret := "SECRETSECRETSECRETSECRETSECRETSECRETSECRET"
		_, _, err := Verify(rawJWS(priv, jwsHeader(testKID, `"`+secret+`":1`), testPayload), testTyp, pub)
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Fatalf("error echoes the whole member name: %v", err)
		}
	})
}

// malleate returns sig with S replaced by S+L, the classic second form of an
// Ed25519 signature that lenient verifiers accept.
func malleate(sig []byte) []byte {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(b []byte) *big.Int {
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return new(big.Int).SetBytes(r)
	}
	s := le(sig[32:])
	s.Add(s, l)
	be := s.FillBytes(make([]byte, 32))
	out := append([]byte(nil), sig[:32]...)
	for i := 31; i >= 0; i-- {
		out = append(out, be[i])
	}
	return out
}

// setTrailingBits changes the unused low bits of the last character of an
// unpadded base64url segment: lenient decoders return the same bytes.
func setTrailingBits(t *testing.T, seg string) string {
	t.Helper()
	if len(seg)%4 == 0 {
		t.Fatalf("segment %q has no trailing bits", seg)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	out := seg[:len(seg)-1] + string(alphabet[last|1])
	lenient, err := base64.RawURLEncoding.DecodeString(out)
	if err != nil || !bytes.Equal(lenient, mustB64(t, seg)) {
		t.Fatalf("trailing-bit variant does not decode to the same bytes leniently")
	}
	if out == seg {
		t.Fatalf("no change")
	}
	return out
}

// stdAlphabet returns a validly signed token whose payload contains '-' and
// '_' in base64url, rewritten with '+' and '/'.
func stdAlphabet(t *testing.T, priv ed25519.PrivateKey) []byte {
	t.Helper()
	tok := string(rawJWS(priv, jwsHeader(testKID), []byte{0xfb, 0xff, 0xbf, '{', '}'}))
	if !strings.ContainsAny(tok, "-_") {
		t.Fatal("token has no '-' or '_' to rewrite")
	}
	return []byte(strings.NewReplacer("-", "+", "_", "/").Replace(tok))
}

func TestJWEAttacks(t *testing.T) {
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	rcpt := priv.PublicKey()
	edPriv, edPub := fixedSigner(t)
	mk := func(extra ...string) []byte {
		return rawJWE(t, rcpt, jweParts{header: jweHeader(testKID, extra...)}, testPayload)
	}
	valid := mk()
	if pt, _, err := Decrypt(valid, priv); err != nil || !bytes.Equal(pt, testPayload) {
		t.Fatalf("baseline hand-made JWE rejected: %v", err)
	}
	parts := strings.Split(string(valid), ".")
	withPart := func(i int, b []byte) []byte { return replacePart(valid, i, enc.EncodeToString(b)) }
	p := func(i int) []byte { return mustB64(t, parts[i]) }
	withHeader := func(h string) []byte { return replacePart(valid, 0, enc.EncodeToString([]byte(h))) }
	// Wycheproof's P-256 key (json_web_encryption_test.json, group jwe_ec).
	epkP256 := `{"kty":"EC","crv":"P-256","x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ","y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"}`
	hdr := func(alg, enc string) string {
		return `{"alg":"` + alg + `","enc":"` + enc + `","epk":%EPK%,"kid":"` + testKID + `"}`
	}

	cases := []struct {
		name string
		tok  []byte
		want error
	}{
		// 8. key wrap inputs.
		{"encrypted_key_empty", replacePart(valid, 1, ""), ErrMalformed},
		{"encrypted_key_8_bytes", withPart(1, p(1)[:8]), ErrMalformed},
		{"encrypted_key_39_bytes", withPart(1, p(1)[:39]), ErrMalformed},
		{"encrypted_key_48_bytes", withPart(1, append(p(1), make([]byte, 8)...)), ErrMalformed},
		{"iv_empty", replacePart(valid, 2, ""), ErrMalformed},
		{"iv_16_bytes", withPart(2, make([]byte, 16)), ErrMalformed},
		{"tag_empty", replacePart(valid, 4, ""), ErrMalformed},
		{"tag_truncated_to_8", withPart(4, p(4)[:8]), ErrMalformed},
		{"zip_DEF", mk(`"zip":"DEF"`), ErrHeader},
		{"p2c_huge", mk(`"p2c":2147483647`, `"p2s":"AAAAAAAAAAA"`), ErrHeader},
		{"pbes2_alg", rawJWE(t, rcpt, jweParts{header: hdr("PBES2-HS512+A256KW", "A256GCM")}, testPayload), ErrAlgorithm},
		{"apu_apv", mk(`"apu":"QWxpY2U"`, `"apv":"Qm9i"`), ErrHeader},

		// Wrong algorithms.
		{"alg_ECDH-ES_direct", rawJWE(t, rcpt, jweParts{header: hdr("ECDH-ES", "A256GCM")}, testPayload), ErrAlgorithm},
		{"alg_ECDH-ES+A128KW", rawJWE(t, rcpt, jweParts{header: hdr("ECDH-ES+A128KW", "A256GCM")}, testPayload), ErrAlgorithm},
		{"alg_RSA-OAEP", rawJWE(t, rcpt, jweParts{header: hdr("RSA-OAEP", "A256GCM")}, testPayload), ErrAlgorithm},
		{"alg_dir", rawJWE(t, rcpt, jweParts{header: hdr("dir", "A256GCM")}, testPayload), ErrAlgorithm},
		{"alg_none", rawJWE(t, rcpt, jweParts{header: hdr("none", "A256GCM")}, testPayload), ErrAlgorithm},
		{"enc_A128GCM", rawJWE(t, rcpt, jweParts{header: hdr(algECDHESKW, "A128GCM")}, testPayload), ErrAlgorithm},
		{"enc_A256CBC-HS512", rawJWE(t, rcpt, jweParts{header: hdr(algECDHESKW, "A256CBC-HS512")}, testPayload), ErrAlgorithm},
		{"enc_missing", rawJWE(t, rcpt, jweParts{header: `{"alg":"ECDH-ES+A256KW","epk":%EPK%,"kid":"` + testKID + `"}`}, testPayload), ErrAlgorithm},

		// Ephemeral keys other than a 32-byte X25519 key.
		{"epk_missing", rawJWE(t, rcpt, jweParts{header: `{"alg":"ECDH-ES+A256KW","enc":"A256GCM","kid":"` + testKID + `"}`}, testPayload), ErrHeader},
		{"epk_string", rawJWE(t, rcpt, jweParts{header: `{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":"x","kid":"` + testKID + `"}`}, testPayload), ErrHeader},
		{"epk_P256", withHeader(`{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":` + epkP256 + `,"kid":"` + testKID + `"}`), ErrAlgorithm},
		{"epk_P256_x_only", withHeader(`{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ"},"kid":"` + testKID + `"}`), ErrAlgorithm},
		{"epk_31_bytes", rawJWE(t, rcpt, jweParts{header: jweHeader(testKID), epk: make([]byte, 31), z: make([]byte, 32)}, testPayload), ErrHeader},
		{"epk_33_bytes", rawJWE(t, rcpt, jweParts{header: jweHeader(testKID), epk: make([]byte, 33), z: make([]byte, 32)}, testPayload), ErrHeader},
		{"epk_with_private_d", epkVariant(t, valid, `,"d":"AAAA"`), ErrHeader},
		{"epk_duplicate_x", epkVariant(t, valid, `,"x":"`+enc.EncodeToString(make([]byte, 32))+`"`), ErrHeader},
		{"epk_Ed25519_curve", withHeader(strings.Replace(headerJSON(t, valid), `"crv":"X25519"`, `"crv":"Ed25519"`, 1)), ErrAlgorithm},

		// Header members outside the profile.
		{"crit", mk(`"crit":["exp"]`, `"exp":1`), ErrHeader},
		{"jwk", mk(`"jwk":{"kty":"OKP","crv":"X25519","x":"` + enc.EncodeToString(make([]byte, 32)) + `"}`), ErrHeader},
		{"jku", mk(`"jku":"https://attacker.example/jwks.json"`), ErrHeader},
		{"x5u", mk(`"x5u":"https://attacker.example/c.pem"`), ErrHeader},
		{"duplicate_alg", mk(`"alg":"dir"`), ErrHeader},
		{"kid_traversal", rawJWE(t, rcpt, jweParts{header: jweHeader("../../keys/enc")}, testPayload), ErrHeader},
		{"kid_10KB", rawJWE(t, rcpt, jweParts{header: jweHeader(strings.Repeat("k", 10<<10))}, testPayload), ErrHeader},

		// Shape.
		{"four_parts", []byte(strings.Join(parts[:4], ".")), ErrMalformed},
		{"six_parts", []byte(string(valid) + ".AAAA"), ErrMalformed},
		{"json_serialisation", []byte(`{"protected":"` + parts[0] + `","encrypted_key":"` + parts[1] + `","iv":"` + parts[2] + `","ciphertext":"` + parts[3] + `","tag":"` + parts[4] + `"}`), ErrMalformed},
		{"padding_on_tag", []byte(string(valid) + "=="), ErrMalformed},
		{"trailing_bits_tag", replacePart(valid, 4, setTrailingBits(t, parts[4])), ErrMalformed},
		{"trailing_bits_encrypted_key", replacePart(valid, 1, setTrailingBits(t, parts[1])), ErrMalformed},
		{"newline_in_ciphertext", replacePart(valid, 3, parts[3][:5]+"\n"+parts[3][5:]), ErrMalformed},

		// 9. a signed token where an encrypted one is expected.
		{"jws_where_jwe_expected", rawJWS(edPriv, jwsHeader(testKID), testPayload), ErrMalformed},

		// A different recipient's key.
		{"wrong_recipient", rawJWE(t, mustX25519(t).PublicKey(), jweParts{header: jweHeader(testKID)}, testPayload), ErrDecrypt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decrypt(c.tok, priv)
			if !errors.Is(err, c.want) {
				t.Fatalf("Decrypt: got %v, want %v", err, c.want)
			}
		})
	}

	// A low-order ephemeral key makes the shared secret all zero, which the
	// attacker knows: a library that accepted it would decrypt this forgery.
	for _, h := range strings.Fields(lowOrderX25519) {
		t.Run("epk_low_order_"+h[:8]+h[62:], func(t *testing.T) {
			forged := rawJWE(t, rcpt, jweParts{header: jweHeader(testKID), epk: mustHex(t, h), z: make([]byte, 32)}, testPayload)
			if _, err := ParseJWEHeader(forged); err != nil {
				t.Fatalf("shape check: %v", err)
			}
			if _, _, err := Decrypt(forged, priv); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("got %v, want ErrDecrypt", err)
			}
		})
	}
	t.Run("nil_private_key", func(t *testing.T) {
		if _, _, err := Decrypt(valid, nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v, want ErrDecrypt", err)
		}
	})
	t.Run("P256_private_key", func(t *testing.T) {
		k, _ := ecdh.P256().GenerateKey(rand.Reader)
		if _, _, err := Decrypt(valid, k); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v, want ErrDecrypt", err)
		}
	})
	t.Run("signed_then_encrypted_inner_checked", func(t *testing.T) {
		// 9: a JWE carrying a JWS must still have the inner JWS verified.
		inner := rawJWS(mustEd25519(t), jwsHeader(testKID), testPayload)
		outer, err := Encrypt(inner, rcpt, testKID, "JWT")
		if err != nil {
			t.Fatal(err)
		}
		got, h, err := Decrypt(outer, priv)
		if err != nil || h.ContentType != "JWT" {
			t.Fatalf("outer: %v %+v", err, h)
		}
		if _, _, err := Verify(got, testTyp, edPub); !errors.Is(err, ErrSignature) {
			t.Fatalf("inner JWS by another key: got %v, want ErrSignature", err)
		}
	})
}

// epkVariant inserts extra members at the end of the epk of tok's header.
func epkVariant(t *testing.T, tok []byte, extra string) []byte {
	t.Helper()
	h := headerJSON(t, tok)
	i := strings.Index(h, `"epk":{`)
	j := strings.Index(h[i:], "}") + i
	return replacePart(tok, 0, enc.EncodeToString([]byte(h[:j]+extra+h[j:])))
}

func mustX25519(t *testing.T) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEd25519(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
