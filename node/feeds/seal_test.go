package feeds

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
)

type party struct {
	sign ed25519.PrivateKey
	kid  string
	enc  *ecdh.PrivateKey
}

func newParty(t testing.TB) party {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return party{sign: priv, kid: keys.SigningKID(priv.Public().(ed25519.PublicKey)), enc: enc}
}

func (p party) keyFunc() KeyFunc {
	return func(kid string) (ed25519.PublicKey, bool) {
		if kid != p.kid {
			return nil, false
		}
		return p.sign.Public().(ed25519.PublicKey), true
	}
}

func ageTo(t testing.TB, to *ecdh.PublicKey, plaintext []byte) []byte {
	t.Helper()
	r, err := keys.AgeRecipient(to)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plaintext)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSealOpen(t *testing.T) {
	prov, sub := newParty(t), newParty(t)
	payload := []byte(`{"feed":"abnormal_operation"}`)
	sealed, err := Seal(prov.sign, prov.kid, payload, sub.enc.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(sealed, sub.enc, prov.keyFunc())
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

// threats.md 13 and 14: each tampered or forged file is refused, at the
// layer that should catch it.
func TestOpenRefuses(t *testing.T) {
	prov, sub, mallory := newParty(t), newParty(t), newParty(t)
	payload := []byte(`{"feed":"abnormal_operation"}`)
	// A batch long enough to span two 64 KiB age chunks.
	long := bytes.Repeat([]byte("x"), 70<<10)
	sealed, err := Seal(prov.sign, prov.kid, payload, sub.enc.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	sealedLong, err := Seal(prov.sign, prov.kid, long, sub.enc.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	headerEnd := bytes.Index(sealed, []byte("\n--- ")) + 1
	macLineEnd := headerEnd + bytes.IndexByte(sealed[headerEnd:], '\n')

	badMAC := bytes.Clone(sealed)
	if badMAC[macLineEnd-1] == 'A' {
		badMAC[macLineEnd-1] = 'B'
	} else {
		badMAC[macLineEnd-1] = 'A'
	}

	// Low-order share: replace the X25519 stanza's share by the all-zero point.
	lines := strings.SplitN(string(sealed), "\n", 3)
	stanza := strings.Fields(lines[1]) // "-> X25519 <share>"
	lowOrder := strings.Replace(string(sealed), stanza[2], base64.RawStdEncoding.EncodeToString(make([]byte, 32)), 1)

	jwsPlain, _ := jose.Sign(prov.sign, prov.kid, TypBatch, payload)
	wrongTyp, _ := jose.Sign(prov.sign, prov.kid, "cx-response+jws", payload)
	forgedKid, _ := jose.Sign(mallory.sign, prov.kid, TypBatch, payload) // claims the provider's kid
	ownKid, _ := jose.Sign(mallory.sign, mallory.kid, TypBatch, payload)
	otherRecipient, _ := Seal(prov.sign, prov.kid, payload, mallory.enc.PublicKey())

	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"truncated final chunk":   {sealed[:len(sealed)-1], ErrDecrypt},
		"truncated long file":     {sealedLong[:len(sealedLong)-20], ErrDecrypt},
		"first chunk only":        {sealedLong[:len(sealedLong)-(len(sealedLong)-(64<<10))], ErrDecrypt},
		"trailing garbage":        {append(bytes.Clone(sealed), "garbage"...), ErrDecrypt},
		"bad header MAC":          {badMAC, ErrDecrypt},
		"low-order share":         {[]byte(lowOrder), ErrDecrypt},
		"another recipient":       {otherRecipient, ErrDecrypt},
		"not age":                 {jwsPlain, ErrDecrypt},
		"empty":                   {nil, ErrDecrypt},
		"unsigned age file":       {ageTo(t, sub.enc.PublicKey(), payload), ErrUnsigned},
		"JWS of another type":     {ageTo(t, sub.enc.PublicKey(), wrongTyp), ErrUnsigned},
		"forged with claimed kid": {ageTo(t, sub.enc.PublicKey(), forgedKid), ErrUnsigned},
		"signed by a non-member":  {ageTo(t, sub.enc.PublicKey(), ownKid), ErrUnsigned},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Open(tc.in, sub.enc, prov.keyFunc()); !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzOpen: sealed batches come from the network. Open never panics, and
// anything it accepts was signed by the provider.
func FuzzOpen(f *testing.F) {
	prov, sub := newParty(f), newParty(f)
	sealed, err := Seal(prov.sign, prov.kid, []byte(`{"feed":"x"}`), sub.enc.PublicKey())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(ageTo(f, sub.enc.PublicKey(), []byte("hello")))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\n--- AAAA\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		payload, err := Open(in, sub.enc, prov.keyFunc())
		if err == nil && !bytes.Equal(payload, []byte(`{"feed":"x"}`)) {
			t.Fatalf("accepted a payload the provider never signed: %q", payload)
		}
	})
}

// FuzzDecodeBatch: the batch decoder is strict on any input.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`{"iss":"p","aud":"s","iat":1,"request_id":"r","feed":"f","from":0,"to":1,"more":false,"policy_revision":"x","items":[{"seq":1,"subject":"S","id":"1","data":{},"updated_at":1,"log_index":0}]}`))
	f.Add([]byte(`{"iss":"p"} {}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var b Batch
		if err := decodeStrict(in, &b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
	})
}
