package ecdhpsi

import (
	"bytes"
	"errors"
	"testing"
)

func isOurs(err error) bool {
	for _, e := range []error{ErrMalformed, ErrIdentity, ErrLength, ErrDuplicate, ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func seedMessages(f *testing.F) {
	for _, es := range loadInvalid(f) {
		b, _ := (&Request{Blinded: es[:1]}).MarshalBinary()
		f.Add(b)
	}
	a, b := HashToElement([]byte("a")), HashToElement([]byte("b"))
	for _, m := range [][]Element{nil, {a}, {a, b}, {a, a}, {{}}} {
		enc, _ := (&Request{Blinded: m}).MarshalBinary()
		f.Add(enc)
	}
	enc, _ := (&Response{DoubleBlinded: []Element{a}, HostBlinded: []Element{b}}).MarshalBinary()
	f.Add(enc)
}

// FuzzParse runs all three message parsers on the same input: no panics,
// only sentinel errors, and what is accepted re-encodes to the input.
func FuzzParse(f *testing.F) {
	seedMessages(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseRequest(b); err != nil {
			if !isOurs(err) {
				t.Fatal(err)
			}
		} else if back, _ := m.MarshalBinary(); !bytes.Equal(back, b) {
			t.Fatal("request: second encoding")
		}
		if m, err := ParseReply(b); err != nil {
			if !isOurs(err) {
				t.Fatal(err)
			}
		} else if back, _ := m.MarshalBinary(); !bytes.Equal(back, b) {
			t.Fatal("reply: second encoding")
		}
		if m, err := ParseResponse(b); err != nil {
			if !isOurs(err) {
				t.Fatal(err)
			}
		} else if back, _ := m.MarshalBinary(); !bytes.Equal(back, b) {
			t.Fatal("response: second encoding")
		}
	})
}

// FuzzDecode: an accepted element re-encodes to itself and is not the identity.
func FuzzDecode(f *testing.F) {
	for _, es := range loadInvalid(f) {
		for _, e := range es {
			f.Add(e[:])
		}
	}
	e := HashToElement([]byte("x"))
	f.Add(e[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != ElementSize {
			return
		}
		p, err := Decode(Element(b))
		if err != nil {
			if !isOurs(err) {
				t.Fatal(err)
			}
			return
		}
		if p.IsIdentity() || encode(p) != Element(b) {
			t.Fatal("non-canonical or identity accepted")
		}
	})
}
