package keys

import (
	"bytes"
	"strings"
	"testing"
)

// BIP 173 test vectors, copied from
// https://github.com/bitcoin/bips/blob/master/bip-0173.mediawiki#test-vectors
var bip173Valid = []string{
	"A12UEL5L",
	"a12uel5l",
	"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
	"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
	"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	"?1ezyfcl",
}

var bip173Invalid = []struct{ s, why string }{
	{"\x201nwldj5", "HRP character out of range"},
	{"\x7f1axkwrx", "HRP character out of range"},
	{"\x801eym55h", "HRP character out of range"},
	{"pzry9x0s0muk", "no separator character"},
	{"1pzry9x0s0muk", "empty HRP"},
	{"x1b4n0q5v", "invalid data character"},
	{"li1dgmt3", "too short checksum"},
	{"de1lg7wt\xff", "invalid character in checksum"},
	{"A1G7SGD8", "checksum calculated with uppercase form of HRP"},
	{"10a06t8", "empty HRP"},
	{"1qzzfhee", "empty HRP"},
}

func TestBech32BIP173Valid(t *testing.T) {
	for _, s := range bip173Valid {
		t.Run(s[:min(len(s), 20)], func(t *testing.T) {
			hrp, data, err := bech32Decode(s)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want := strings.ToLower(s[:strings.LastIndexByte(s, '1')]); hrp != want {
				t.Fatalf("hrp %q, want %q", hrp, want)
			}
			back, err := bech32Encode(hrp, data)
			if err != nil {
				t.Fatal(err)
			}
			if back != strings.ToLower(s) {
				t.Fatalf("round trip: got %s", back)
			}
			// Any single-character change must break the checksum.
			pos := len(s) - 1
			mut := []byte(strings.ToLower(s))
			mut[pos] = bech32Charset[(strings.IndexByte(bech32Charset, mut[pos])+1)%32]
			if _, _, err := bech32Decode(string(mut)); err == nil {
				t.Fatalf("accepted %s", mut)
			}
		})
	}
}

func TestBech32BIP173Invalid(t *testing.T) {
	for _, c := range bip173Invalid {
		t.Run(c.why, func(t *testing.T) {
			if _, _, err := bech32Decode(c.s); err == nil {
				t.Fatalf("accepted %q (%s)", c.s, c.why)
			}
		})
	}
	// BIP 173 also rejects strings over 90 characters; age does not apply
	// that limit (its identities are longer), and neither does this decoder.
	long := "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx"
	if _, _, err := bech32Decode(long); err != nil {
		t.Fatalf("91-character string: %v (this decoder has no length limit, like age)", err)
	}
}

func TestBech32RejectsOtherSpellings(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	id, err := AgeIdentity(k.Encryption)
	if err != nil {
		t.Fatal(err)
	}
	s := id.String() // upper case
	cases := map[string]string{
		"mixed_case":    strings.ToLower(s[:20]) + s[20:],
		"kelvin_sign":   strings.Replace(s, "K", "\u212a", 1), // lower-cases to 'k'
		"leading_space": " " + s,
		"trailing_nl":   s + "\n",
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := bech32Decode(v); err == nil {
				t.Fatalf("accepted %q", v)
			}
			if _, err := ParseAgeIdentity(v); err == nil {
				t.Fatal("ParseAgeIdentity accepted it")
			}
		})
	}
}

func FuzzBech32(f *testing.F) {
	for _, s := range bip173Valid {
		f.Add(s)
	}
	for _, c := range bip173Invalid {
		f.Add(c.s)
	}
	for _, hrp := range []string{"age-secret-key-", "age"} {
		s, err := bech32Encode(hrp, bytes.Repeat([]byte{0x42}, 32))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
		f.Add(strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, s string) {
		hrp, data, err := bech32Decode(s)
		if err != nil {
			return
		}
		// A decoded string has exactly one spelling, its lower-case form.
		back, err := bech32Encode(hrp, data)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if back != strings.ToLower(s) {
			t.Fatalf("decoded %q but re-encodes as %q", s, back)
		}
		hrp2, data2, err := bech32Decode(back)
		if err != nil || hrp2 != hrp || !bytes.Equal(data2, data) {
			t.Fatalf("second decode differs")
		}
	})
}
