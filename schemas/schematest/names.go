// Package schematest holds test support for the strict parsing of signed
// objects: NameVariants rewrites a signed token so that its payload carries
// a duplicate member or a member name in another case, signed again, so
// that a test can show the real verifier of that token refuses it.
package schematest

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/creditexchange/node/crypto/jose"
)

// Variant is a re-signed token whose payload differs from the original
// only by one added member.
type Variant struct {
	Name  string // what was added, e.g. `duplicate "sub"` or `"SUB" beside "sub"`
	Token []byte
}

// NameVariants returns, for every top-level member of tok's payload (a JSON
// object), the token with that member repeated (same value) and with a copy
// of it whose name is in another case, each signed again by signer under
// tok's kid and typ. A verifier that parses strictly refuses every one.
func NameVariants(t testing.TB, tok []byte, signer crypto.Signer) []Variant {
	t.Helper()
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.Split(tok, []byte{'.'})
	payload, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	var out []Variant
	for _, v := range PayloadVariants(t, payload) {
		signed, err := jose.Sign(signer, hdr.KeyID, hdr.Type, v.Token)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Variant{Name: v.Name, Token: signed})
	}
	return out
}

// PayloadVariants is NameVariants on an unsigned JSON object: each Variant's
// Token is the payload with one member added at its end.
func PayloadVariants(t testing.TB, payload []byte) []Variant {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("payload is not a JSON object: %s", payload)
	}
	end := bytes.LastIndexByte(payload, '}')
	var out []Variant
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		name := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			t.Fatal(err)
		}
		add := func(label, as string) {
			member, _ := json.Marshal(as)
			b := bytes.Clone(payload[:end])
			b = append(b, ',')
			b = append(append(append(b, member...), ':'), value...)
			out = append(out, Variant{Name: label, Token: append(b, '}')})
		}
		add(fmt.Sprintf("duplicate %q", name), name)
		if other := otherCase(name); other != name {
			add(fmt.Sprintf("%q beside %q", other, name), other)
		}
	}
	if len(out) == 0 {
		t.Fatalf("payload has no members: %s", payload)
	}
	return out
}

// otherCase is name with the case of its letters changed: upper case if it
// has a lower-case letter, else lower case.
func otherCase(name string) string {
	if up := strings.ToUpper(name); up != name {
		return up
	}
	return strings.ToLower(name)
}
