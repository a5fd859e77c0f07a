package tlog_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/tlog"
)

// Attack 20: split views, wrong origins, unknown keys.
func TestCheckpointAttacks(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 9)
	signed, err := f.tree.LatestCheckpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	good, err := tlog.VerifyCheckpoint(signed, f.ver)
	if err != nil {
		t.Fatal(err)
	}
	if good.Origin != testOrigin || good.Size != 9 {
		t.Fatalf("checkpoint %+v", good)
	}

	t.Run("split view", func(t *testing.T) {
		other := tlog.Checkpoint{Origin: testOrigin, Size: 9, Hash: bytes.Repeat([]byte{7}, 32)}
		n, err := tlog.Sign(other, f.sig)
		if err != nil {
			t.Fatal(err)
		}
		forked, err := tlog.VerifyCheckpoint(n, f.ver) // validly signed by the log's own key…
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckSameView(good, forked); !errors.Is(err, tlog.ErrSplitView) { // …but a second view
			t.Fatalf("CheckSameView: %v, want ErrSplitView", err)
		}
		if err := tlog.CheckSameView(good, good); err != nil {
			t.Fatalf("same checkpoint twice: %v", err)
		}
	})
	t.Run("wrong origin line", func(t *testing.T) {
		// Signed by the right key under the right key name, but the body
		// names another log.
		body := tlog.Checkpoint{Origin: "creditexchange/other-node/inquiry", Size: 9, Hash: good.Hash}.Marshal()
		n, err := note.Sign(&note.Note{Text: string(body)}, f.sig)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tlog.VerifyCheckpoint(n, f.ver); !errors.Is(err, tlog.ErrWrongOrigin) {
			t.Fatalf("got %v, want ErrWrongOrigin", err)
		}
		if _, err := tlog.Sign(tlog.Checkpoint{Origin: "x/y", Size: 1, Hash: good.Hash}, f.sig); !errors.Is(err, tlog.ErrWrongOrigin) {
			t.Fatalf("Sign under another origin: %v", err)
		}
	})
	t.Run("unknown signing key", func(t *testing.T) {
		_, k2, _ := ed25519.GenerateKey(rand.Reader)
		s2, err := tlog.NewSigner(testOrigin, k2) // same name, another key
		if err != nil {
			t.Fatal(err)
		}
		n, err := tlog.Sign(good, s2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tlog.VerifyCheckpoint(n, f.ver); !errors.Is(err, tlog.ErrUnknownKey) {
			t.Fatalf("got %v, want ErrUnknownKey", err)
		}
	})
	t.Run("flipped signature bit", func(t *testing.T) {
		bad := bytes.Clone(signed)
		i := bytes.LastIndexByte(bad, ' ') + 10 // inside the base64 signature
		bad[i] ^= 0x01
		if _, err := tlog.VerifyCheckpoint(bad, f.ver); err == nil {
			t.Fatal("tampered signature accepted")
		}
	})
	t.Run("edited body", func(t *testing.T) {
		bad := bytes.Replace(signed, []byte("\n9\n"), []byte("\n8\n"), 1)
		if _, err := tlog.VerifyCheckpoint(bad, f.ver); !errors.Is(err, tlog.ErrBadSignature) {
			t.Fatalf("got %v, want ErrBadSignature", err)
		}
	})
}

func TestParseCheckpointStrict(t *testing.T) {
	h := strings.Repeat("A", 43) + "="
	for _, body := range []string{
		"o\n1\n" + h,                // no final newline
		"o\n01\n" + h + "\n",        // leading zero
		"o\n-1\n" + h + "\n",        // negative
		"o o\n1\n" + h + "\n",       // space in origin
		"\n1\n" + h + "\n",          // empty origin
		"o\n1\n" + h[:40] + "\n",    // short hash
		"o\n1\n" + h + "\nextra\n",  // extension line
		"o\n18446744073709551616\n", // overflow
	} {
		if _, err := tlog.ParseCheckpoint([]byte(body)); !errors.Is(err, tlog.ErrMalformedCheckpoint) {
			t.Errorf("%q: %v, want ErrMalformedCheckpoint", body, err)
		}
	}
	c, err := tlog.ParseCheckpoint([]byte("o/x\n5\n" + h + "\n"))
	if err != nil || c.Size != 5 || c.Origin != "o/x" {
		t.Fatalf("good body: %+v %v", c, err)
	}
}

// FuzzVerifyCheckpoint feeds arbitrary notes to the verifier: it must never
// panic, and anything it accepts must re-marshal to the signed body.
// Seeded with a checkpoint signed here and an unsigned one.
func FuzzVerifyCheckpoint(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	sig, _ := tlog.NewSigner(testOrigin, key)
	ver, _ := tlog.NewVerifier(testOrigin, key.Public().(ed25519.PublicKey))
	n, _ := tlog.Sign(tlog.Checkpoint{Origin: testOrigin, Size: 3, Hash: bytes.Repeat([]byte{1}, 32)}, sig)
	f.Add(n)
	f.Add([]byte("creditexchange/test-node/inquiry\n3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n— x y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := tlog.VerifyCheckpoint(data, ver)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, c.Marshal()) {
			t.Fatalf("accepted a note whose body is not the checkpoint")
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("o/x\n5\n" + strings.Repeat("A", 43) + "=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := tlog.ParseCheckpoint(data)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Marshal(), data) {
			t.Fatalf("parse/marshal not canonical: %q", data)
		}
	})
}
