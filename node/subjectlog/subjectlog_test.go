package subjectlog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

func TestVerifyComplete(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, "", subjA, subjB, subjA)
	if n := f.commit(); n != 6 {
		t.Fatalf("size %d", n)
	}
	f.log(subjA) // after the checkpoint: pending
	sl := f.answer(subjA)
	res, err := Verify(sl, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed != 3 || res.Pending != 1 || res.Checkpoint.Size != 6 {
		t.Fatalf("%+v", res)
	}
	// Once committed, the pending entry is covered too.
	f.commit()
	res, err = Verify(f.answer(subjA), f.opts())
	if err != nil || res.Committed != 4 || res.Pending != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestVerifyAbsentSubject(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, subjA)
	f.commit()
	const nobody = "91310000MA1FL0000X"
	res, err := Verify(f.answer(nobody), f.opts())
	if err != nil || res.Committed != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

// threats.md 18–20 for the subject proof; the withheld-entry case is the
// one the commitment exists for.
func TestVerifyTampering(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, subjA, subjA, subjB)
	f.commit()
	cases := []struct {
		name   string
		mutate func(t *testing.T, f *fixture, sl *schemas.SubjectLog)
		want   error
	}{
		{"withheld entry", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Entries = slices.Delete(sl.Entries, 1, 2)
		}, ErrIncomplete},
		{"withheld last entry", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Entries = sl.Entries[:len(sl.Entries)-1]
		}, ErrIncomplete},
		{"reordered entries", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Entries[0], sl.Entries[1] = sl.Entries[1], sl.Entries[0]
		}, ErrIncomplete},
		{"wrong count claimed and withheld", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Entries = sl.Entries[:2]
			sl.Proof.Count = 2
		}, ErrIncomplete},
		{"map sibling flipped bit", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			b, _ := hex.DecodeString(sl.Proof.MapSiblings[0])
			b[5] ^= 0x10
			sl.Proof.MapSiblings[0] = hex.EncodeToString(b)
		}, ErrIncomplete},
		{"map proof truncated", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.MapSiblings = sl.Proof.MapSiblings[:len(sl.Proof.MapSiblings)-1]
		}, ErrIncomplete},
		{"map proof extra node", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.MapSiblings = append(sl.Proof.MapSiblings, hex.EncodeToString(make([]byte, 32)))
		}, ErrIncomplete},
		{"map proof bad hex", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.MapSiblings[0] = "zz"
		}, ErrMapProof},
		{"another subject's VRF proof", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.VRFProof = f.answer(subjB).Proof.VRFProof
		}, ErrVRFInvalid},
		{"inclusion proof flipped bit", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			b, _ := hex.DecodeString(sl.Proof.Inclusion[0].Proof[0])
			b[0] ^= 1
			sl.Proof.Inclusion[0].Proof[0] = hex.EncodeToString(b)
		}, ErrInclusion},
		{"inclusion proof truncated", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.Inclusion[1].Proof = sl.Proof.Inclusion[1].Proof[1:]
		}, ErrInclusion},
		{"inclusion proof missing", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.Inclusion = sl.Proof.Inclusion[1:]
		}, ErrInclusion},
		{"index off by one", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.Inclusion[0].Index++
			sl.Entries[0].Index++
		}, nil}, // any error
		{"foreign entry slipped in", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Entries = append(sl.Entries, f.answer(subjB).Entries[1])
		}, ErrForeignEntry},
		{"entry edited", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Entries[0].Entry.Purpose = "marketing"
		}, nil},
		{"checkpoint map root changed", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) {
			sl.Proof.Checkpoint = string(bytes.Replace([]byte(sl.Proof.Checkpoint), []byte("cx-subject-map "), []byte("cx-subject-map A"), 1))
		}, nil},
		{"no proof", func(t *testing.T, f *fixture, sl *schemas.SubjectLog) { sl.Proof = nil }, ErrNoProof},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sl := f.answer(subjA)
			if _, err := Verify(sl, f.opts()); err != nil {
				t.Fatalf("untampered: %v", err)
			}
			tc.mutate(t, f, sl)
			_, err := Verify(sl, f.opts())
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyUnknownLogKey(t *testing.T) {
	f := newFixture(t)
	f.log(subjA)
	f.commit()
	_, other, _ := ed25519.GenerateKey(nil)
	v, _ := tlog.NewVerifier(f.origin, other.Public().(ed25519.PublicKey))
	if _, err := Verify(f.answer(subjA), VerifyOptions{Log: v}); !errors.Is(err, tlog.ErrUnknownKey) {
		t.Fatalf("got %v", err)
	}
	w, _ := tlog.NewVerifier("creditexchange/bank-a/inquiry", f.key.Public().(ed25519.PublicKey))
	if _, err := Verify(f.answer(subjA), VerifyOptions{Log: w}); err == nil {
		t.Fatal("checkpoint of another origin accepted")
	}
	opts := f.opts()
	opts.MinWitnesses = 1
	if _, err := Verify(f.answer(subjA), opts); !errors.Is(err, ErrNotWitnessed) {
		t.Fatalf("got %v", err)
	}
}

func TestMapProofs(t *testing.T) {
	m := NewMap()
	var keys []Key
	for i := range 50 {
		k, _, _ := mustVRF(t).SubjectKey(fmt.Sprint("subject-", i))
		keys = append(keys, k)
		for j := 0; j <= i%3; j++ {
			m.Append(k, uint64(i*10+j), bytes.Repeat([]byte{byte(j)}, 32))
		}
	}
	root := m.Root()
	for _, k := range keys {
		v := m.Get(k)
		p := m.Prove(k)
		if err := VerifyMapProof(root, k, v, p); err != nil {
			t.Fatal(err)
		}
		wrong := v
		wrong.Count++
		if err := VerifyMapProof(root, k, wrong, p); !errors.Is(err, ErrMapProof) {
			t.Fatal("wrong count accepted")
		}
		if err := VerifyMapProof(root, k, Value{}, p); !errors.Is(err, ErrMapProof) {
			t.Fatal("absence of a present key accepted")
		}
	}
	var absent Key
	absent[0] = 0xff
	p := m.Prove(absent)
	if err := VerifyMapProof(root, absent, Value{}, p); err != nil {
		t.Fatal(err)
	}
	if p.OtherKey != nil {
		if err := VerifyMapProof(root, *p.OtherKey, Value{}, p); !errors.Is(err, ErrMapProof) {
			t.Fatal("absence of the other key accepted")
		}
	}
	if NewMap().Root() != [32]byte{} {
		t.Fatal("empty root")
	}
}

func mustVRF(t testing.TB) *VRFKey {
	k, err := NewVRFKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheckpointRoundTrip(t *testing.T) {
	c := Checkpoint{VRFKey: bytes.Repeat([]byte{2}, 32)}
	c.Origin, c.Size, c.Hash = "creditexchange/x/inquiry", 7, bytes.Repeat([]byte{3}, 32)
	c.MapRoot[0] = 9
	got, err := ParseCheckpoint(c.Marshal())
	if err != nil || !bytes.Equal(got.Marshal(), c.Marshal()) {
		t.Fatalf("%v", err)
	}
	for _, bad := range []string{
		string(c.Checkpoint.Marshal()),
		string(c.Marshal()) + "extra\n",
		string(bytes.Replace(c.Marshal(), []byte("cx-subject-vrf"), []byte("cx-subject-vrx"), 1)),
	} {
		if _, err := ParseCheckpoint([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("accepted %q", bad)
		}
	}
}

func TestDeriveVRFKeyStable(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	a, err := DeriveVRFKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DeriveVRFKey(key)
	if !bytes.Equal(a.Public(), b.Public()) {
		t.Fatal("VRF key not stable")
	}
}
