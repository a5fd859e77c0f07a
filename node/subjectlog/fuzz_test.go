package subjectlog

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/creditexchange/node/schemas"
)

func FuzzParseCheckpoint(f *testing.F) {
	c := Checkpoint{VRFKey: bytes.Repeat([]byte{2}, 32)}
	c.Origin, c.Size, c.Hash = "creditexchange/x/inquiry", 7, bytes.Repeat([]byte{3}, 32)
	f.Add(c.Marshal())
	f.Add(c.Checkpoint.Marshal())
	f.Add([]byte("o\n1\n\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		if !bytes.Equal(got.Marshal(), b) {
			t.Fatalf("accepted a non-canonical checkpoint %q", b)
		}
	})
}

// FuzzPeekCheckpoint: a signed checkpoint from outside (a page of a
// subject's log) never panics PeekCheckpoint, and what it accepts is a
// canonical checkpoint body followed by a signature block.
func FuzzPeekCheckpoint(f *testing.F) {
	c := Checkpoint{VRFKey: bytes.Repeat([]byte{2}, 32)}
	c.Origin, c.Size, c.Hash = "creditexchange/x/inquiry", 7, bytes.Repeat([]byte{3}, 32)
	f.Add(append(c.Marshal(), "\n— creditexchange/x/inquiry AAAAAQ==\n"...))
	f.Add(c.Marshal())
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, body, err := PeekCheckpoint(b)
		if err != nil {
			return
		}
		if !bytes.Equal(got.Marshal(), []byte(body)) || !bytes.HasPrefix(b, append([]byte(body), '\n')) {
			t.Fatalf("accepted %q as body %q", b, body)
		}
	})
}

// FuzzMapProof feeds arbitrary proofs (as they arrive, JSON) to the map
// verifier: it must never panic and never accept a proof for a value the
// map does not hold.
func FuzzMapProof(f *testing.F) {
	m := NewMap()
	vrf := mustVRF(f)
	var keys []Key
	for i := range 8 {
		k, _, _ := vrf.SubjectKey(string(rune('a' + i)))
		m.Append(k, uint64(i), bytes.Repeat([]byte{byte(i)}, 32))
		keys = append(keys, k)
	}
	root := m.Root()
	for _, k := range append(keys, Key{0xff}) {
		mp := m.Prove(k)
		p := &schemas.SubjectProof{}
		for _, s := range mp.Siblings {
			p.MapSiblings = append(p.MapSiblings, string(hexOf(s[:])))
		}
		b, _ := json.Marshal(p)
		f.Add(b, k[:], uint64(1))
	}
	f.Fuzz(func(t *testing.T, raw, key []byte, count uint64) {
		var p schemas.SubjectProof
		if json.Unmarshal(raw, &p) != nil || len(key) != KeySize {
			return
		}
		mp, err := decodeMapProof(&p)
		if err != nil {
			return
		}
		var k Key
		copy(k[:], key)
		v := m.Get(k)
		claimed := v
		claimed.Count = count
		if err := VerifyMapProof(root, k, claimed, mp); err == nil && claimed != v {
			t.Fatalf("accepted count %d for a key holding %d", count, v.Count)
		}
	})
}

func FuzzVerifyVRF(f *testing.F) {
	k := mustVRF(f)
	pi, _, _ := k.Prove([]byte("x"))
	f.Add(k.Public(), []byte("x"), pi)
	f.Fuzz(func(t *testing.T, pub, alpha, pi []byte) {
		beta, err := VerifyVRF(pub, alpha, pi)
		if err == nil && len(beta) != 64 {
			t.Fatal("short output")
		}
	})
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}
