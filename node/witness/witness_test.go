package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"net/http"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

const subject = "91110000100000016D"

func keyPair(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pair is two nodes, a (provider) and b (witness), witnessing each other.
func pair(t *testing.T) (a, b *logNode, wa, wb *Witness, hs *handlers, cnt *counter) {
	ka, kb := keyPair(t), keyPair(t)
	a, b = newLogNode(t, "tax-dept", ka, 0), newLogNode(t, "bank-a", kb, 0)
	reg := members{a.id: ka.Public().(ed25519.PublicKey), b.id: kb.Public().(ed25519.PublicKey)}
	hs = &handlers{h: map[string]http.Handler{}}
	cnt = &counter{}
	wa, wb = newWitness(t, a, reg, hs, cnt), newWitness(t, b, reg, hs, cnt)
	hs.h[a.id] = Handler(wa, a.com, a.tree)
	hs.h[b.id] = Handler(wb, b.com, b.tree)
	return
}

func TestWitnessFollowsAndCosigns(t *testing.T) {
	ctx := context.Background()
	a, b, wa, wb, _, cnt := pair(t)
	a.add(subject, 3)
	b.add(subject, 1)
	for range 2 { // twice: the second round collects the cosignatures made in the first
		if err := wb.Poll(ctx, a.id); err != nil {
			t.Fatal(err)
		}
		if err := wa.Poll(ctx, b.id); err != nil {
			t.Fatal(err)
		}
	}
	a.add(subject, 2) // grows: consistency proof 3 → 5
	if err := wb.Poll(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	if err := wb.Poll(ctx, a.id); err != nil { // same size again: fine
		t.Fatal(err)
	}
	rec, err := wb.opts.State.Last(ctx, a.id)
	if err != nil || rec.Size != 5 {
		t.Fatalf("%+v %v", rec, err)
	}
	// The cosigned note verifies under b's cosignature key and a's log key.
	logV, _ := tlog.NewVerifier(tlog.Origin(a.id, store.LogInquiry), a.key.Public().(ed25519.PublicKey))
	cosV, _ := NewVerifier(Name(b.id), b.key.Public().(ed25519.PublicKey))
	_, n, err := subjectlog.OpenCheckpoint(rec.Cosigned, logV, cosV)
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("cosigned note: %v", err)
	}
	if len(cnt.n) != 0 {
		t.Fatalf("alarms %v", cnt.n)
	}
	// a collected b's cosignature of a's size-3 checkpoint: a subject
	// requiring one witness verifies against it.
	sl := subjectAnswer(t, a, 1)
	res, err := subjectlog.Verify(sl, subjectlog.VerifyOptions{Log: logV, Witnesses: []note.Verifier{cosV}, MinWitnesses: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Witnesses) != 1 || res.Witnesses[0] != Name(b.id) {
		t.Fatalf("%+v", res)
	}
}

func subjectAnswer(t *testing.T, n *logNode, minCosigs int) *schemas.SubjectLog {
	t.Helper()
	ctx := context.Background()
	leaves, err := n.st.SubjectInquiries(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	sl := &schemas.SubjectLog{Issuer: n.id, Subject: subject}
	var idx []uint64
	for _, l := range leaves {
		le, err := inquirylog.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		sl.Entries = append(sl.Entries, le)
		idx = append(idx, le.Index)
	}
	if sl.Proof, err = n.com.Prove(ctx, subject, idx, minCosigs); err != nil {
		t.Fatal(err)
	}
	return sl
}

// threats.md 20: two different checkpoints of the same size.
func TestWitnessDetectsSplitView(t *testing.T) {
	ctx := context.Background()
	a, b, _, wb, hs, cnt := pair(t)
	a.add(subject, 2)
	if err := wb.Poll(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	// a forks: same key, a different log of the same size.
	fork := newLogNode(t, a.id, a.key, 0)
	fork.add("11110000000013127H", 2)
	hs.h[a.id] = Handler(wb, fork.com, fork.tree)
	err := wb.Poll(ctx, a.id)
	if !errors.Is(err, ErrSplitView) {
		t.Fatalf("got %v", err)
	}
	alarms, _ := wb.Alarms(ctx)
	if len(alarms) != 1 || alarms[0].Kind != AlarmSplitView || alarms[0].Previous == "" || alarms[0].Offending == "" || cnt.n[AlarmSplitView] != 1 {
		t.Fatalf("%+v %v", alarms, cnt.n)
	}
	// The fork is not cosigned: the stored record is still the first view.
	rec, _ := wb.opts.State.Last(ctx, a.id)
	if latest, _ := a.com.Latest(); !strings.HasPrefix(string(rec.Cosigned), string(noteBody(latest))) {
		t.Fatal("record moved to the fork")
	}
	_ = b
}

func noteBody(text []byte) []byte {
	i := bytes.Index(text, []byte("\n\n"))
	return text[:i+1]
}

// A fork that grows instead: its consistency proof cannot link the trees.
func TestWitnessDetectsInconsistentGrowth(t *testing.T) {
	ctx := context.Background()
	a, _, _, wb, hs, cnt := pair(t)
	a.add(subject, 3)
	if err := wb.Poll(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	fork := newLogNode(t, a.id, a.key, 0)
	fork.add(subject, 5)
	hs.h[a.id] = Handler(wb, fork.com, fork.tree)
	if err := wb.Poll(ctx, a.id); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("got %v", err)
	}
	if cnt.n[AlarmInconsistent] != 1 {
		t.Fatal(cnt.n)
	}
	// And a smaller tree afterwards is a rollback.
	small := newLogNode(t, a.id, a.key, 0)
	small.add(subject, 1)
	hs.h[a.id] = Handler(wb, small.com, small.tree)
	if err := wb.Poll(ctx, a.id); !errors.Is(err, ErrRollback) {
		t.Fatalf("got %v", err)
	}
}

func TestWitnessVRFKeyChange(t *testing.T) {
	ctx := context.Background()
	a, _, _, wb, hs, cnt := pair(t)
	a.add(subject, 1)
	if err := wb.Poll(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	moved := newLogNode(t, a.id, a.key, 9)
	moved.add(subject, 2)
	hs.h[a.id] = Handler(wb, moved.com, moved.tree)
	if err := wb.Poll(ctx, a.id); !errors.Is(err, ErrVRFKeyChanged) || cnt.n[AlarmVRFKey] != 1 {
		t.Fatalf("got %v", err)
	}
}

// A checkpoint signed by a key the registry does not list is refused
// without an alarm (anyone could send one).
func TestWitnessRefusesUnknownKey(t *testing.T) {
	ctx := context.Background()
	a, _, _, wb, hs, cnt := pair(t)
	a.add(subject, 1)
	impostor := newLogNode(t, a.id, keyPair(t), 0)
	impostor.add(subject, 1)
	hs.h[a.id] = Handler(wb, impostor.com, impostor.tree)
	if err := wb.Poll(ctx, a.id); !errors.Is(err, ErrUnverified) {
		t.Fatalf("got %v", err)
	}
	if len(cnt.n) != 0 {
		t.Fatal("alarm for junk")
	}
	if _, err := wb.opts.State.Last(ctx, a.id); !errors.Is(err, ErrNoRecord) {
		t.Fatal("impostor recorded")
	}
}

// threats.md 20 on the subject side: a cosignature by an unknown key does
// not count; one over a different checkpoint is refused.
func TestSubjectCosignatureChecks(t *testing.T) {
	ctx := context.Background()
	a, b, _, wb, _, _ := pair(t)
	a.add(subject, 2)
	if err := wb.Poll(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	rec, _ := wb.opts.State.Last(ctx, a.id)
	logV, _ := tlog.NewVerifier(tlog.Origin(a.id, store.LogInquiry), a.key.Public().(ed25519.PublicKey))
	cosV, _ := NewVerifier(Name(b.id), b.key.Public().(ed25519.PublicKey))
	strangerV, _ := NewVerifier(Name(b.id), keyPair(t).Public().(ed25519.PublicKey))

	sl := subjectAnswer(t, a, 0)
	sl.Proof.Checkpoint = string(rec.Cosigned)
	if _, err := subjectlog.Verify(sl, subjectlog.VerifyOptions{Log: logV, Witnesses: []note.Verifier{cosV}, MinWitnesses: 1}); err != nil {
		t.Fatal(err)
	}
	// The subject trusts another key for that witness: the cosignature is
	// unknown and does not count.
	if _, err := subjectlog.Verify(sl, subjectlog.VerifyOptions{Log: logV, Witnesses: []note.Verifier{strangerV}, MinWitnesses: 1}); !errors.Is(err, subjectlog.ErrNotWitnessed) {
		t.Fatalf("got %v", err)
	}
	// b's cosignature line moved onto a's next checkpoint.
	a.add(subject, 1)
	next, _ := a.com.Latest()
	sigLine := rec.Cosigned[bytes.LastIndex(rec.Cosigned[:len(rec.Cosigned)-1], []byte("\n"))+1:]
	if !strings.Contains(string(sigLine), Name(b.id)) {
		t.Fatalf("not b's line: %q", sigLine)
	}
	sl = subjectAnswer(t, a, 0)
	sl.Proof.Checkpoint = string(next) + string(sigLine)
	if _, err := subjectlog.Verify(sl, subjectlog.VerifyOptions{Log: logV, Witnesses: []note.Verifier{cosV}, MinWitnesses: 1}); !errors.Is(err, tlog.ErrBadSignature) {
		t.Fatalf("got %v", err)
	}
	// The committer does not accept it either.
	if n, err := a.com.AddCosignatures(t.Context(), []byte(sl.Proof.Checkpoint), note.VerifierList(cosV)); err == nil && n != 0 {
		t.Fatal("forged cosignature collected")
	}
}

func TestCosignatureFormat(t *testing.T) {
	k := keyPair(t)
	s, err := NewCosigner("w", k, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewVerifier("w", k.Public().(ed25519.PublicKey))
	if s.KeyHash() != v.KeyHash() {
		t.Fatal("key hash")
	}
	sig, err := s.Sign([]byte("o\n1\nAAAA\n"))
	if err != nil || len(sig) != 72 {
		t.Fatal(err)
	}
	if !v.Verify([]byte("o\n1\nAAAA\n"), sig) || v.Verify([]byte("o\n2\nAAAA\n"), sig) {
		t.Fatal("verify")
	}
	sig[3] ^= 1 // the timestamp is signed
	if v.Verify([]byte("o\n1\nAAAA\n"), sig) {
		t.Fatal("timestamp not covered")
	}
	if _, err := NewCosigner("bad name", k, nil); err == nil {
		t.Fatal("bad name accepted")
	}
}

func FuzzDecodeProof(f *testing.F) {
	b, _ := EncodeProof([][]byte{make([]byte, 32), bytes.Repeat([]byte{1}, 32)})
	f.Add(b)
	f.Add([]byte(`{"proof":["x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProof(b)
		if err != nil {
			return
		}
		for _, h := range p {
			if len(h) != 32 {
				t.Fatal("short hash")
			}
		}
	})
}

// FuzzOpenCosigned: arbitrary cosigned notes never panic and never verify
// under a witness key that did not sign.
func FuzzOpenCosigned(f *testing.F) {
	lk, wk := ed25519.NewKeyFromSeed(make([]byte, 32)), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	logS, _ := tlog.NewSigner("o", lk)
	cos, _ := NewCosigner("w", wk, nil)
	c := subjectlog.Checkpoint{VRFKey: make([]byte, 32)}
	c.Origin, c.Size, c.Hash = "o", 1, make([]byte, 32)
	text, _ := note.Sign(&note.Note{Text: string(c.Marshal())}, logS, cos)
	f.Add(text)
	logV, _ := tlog.NewVerifier("o", lk.Public().(ed25519.PublicKey))
	other, _ := NewVerifier("w", ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public().(ed25519.PublicKey))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, n, err := subjectlog.OpenCheckpoint(b, logV, other)
		if err != nil {
			return
		}
		for _, s := range n.Sigs {
			if s.Name == "w" {
				t.Fatal("cosignature verified under a key that did not make it")
			}
		}
	})
}

// threats.md 19 at the witness API: no consistency proof from the empty
// tree or backwards; a proof checked with swapped roots fails.
func TestConsistencyEndpoint(t *testing.T) {
	ctx := context.Background()
	a, _, _, _, hs, _ := pair(t)
	a.add(subject, 3)
	a.add(subject, 4)
	for _, q := range []string{"?from=0&to=7", "?from=7&to=3", "?from=3&to=99", "?from=x&to=7"} {
		if _, err := hs.Get(ctx, a.id, PathConsistency+q); err == nil {
			t.Fatalf("%s answered", q)
		}
	}
	b, err := hs.Get(ctx, a.id, PathConsistency+"?from=3&to=7")
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodeProof(b)
	if err != nil {
		t.Fatal(err)
	}
	r3, _ := a.tree.Root(ctx, 3)
	r7, _ := a.tree.Root(ctx, 7)
	if err := tlog.VerifyConsistency(3, 7, p, r3, r7); err != nil {
		t.Fatal(err)
	}
	if err := tlog.VerifyConsistency(3, 7, p, r7, r3); !errors.Is(err, tlog.ErrProofInvalid) {
		t.Fatalf("swapped roots: %v", err)
	}
}

// TestWitnessFollowsOtherWitnesses: a witness cosigns the checkpoint
// another witness cosigned when it is newer than its own last (and not
// beyond the peer's latest), so that two witnesses polling at different
// moments cosign one checkpoint, which the provider then proves against
// for a subject requiring both; otherwise it cosigns the peer's latest.
func TestWitnessFollowsOtherWitnesses(t *testing.T) {
	ctx := context.Background()
	ka, kb, kc := keyPair(t), keyPair(t), keyPair(t)
	a, b, c := newLogNode(t, "tax-dept", ka, 0), newLogNode(t, "bank-a", kb, 0), newLogNode(t, "market-reg", kc, 0)
	reg := members{a.id: ka.Public().(ed25519.PublicKey), b.id: kb.Public().(ed25519.PublicKey), c.id: kc.Public().(ed25519.PublicKey)}
	hs := &handlers{h: map[string]http.Handler{}}
	cnt := &counter{}
	wa, wb, wc := newWitness(t, a, reg, hs, cnt), newWitness(t, b, reg, hs, cnt), newWitness(t, c, reg, hs, cnt)
	hs.h[a.id], hs.h[b.id], hs.h[c.id] = Handler(wa, a.com, a.tree), Handler(wb, b.com, b.tree), Handler(wc, c.com, c.tree)
	b.add(subject, 1)
	c.add(subject, 1)
	last := func(w *Witness) uint64 {
		t.Helper()
		rec, err := w.opts.State.Last(ctx, a.id)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Size
	}
	poll := func(w *Witness, peer string) {
		t.Helper()
		if err := w.Poll(ctx, peer); err != nil {
			t.Fatal(err)
		}
	}
	a.add(subject, 3)
	poll(wb, a.id)
	poll(wc, a.id)
	a.add(subject, 2)
	poll(wb, a.id) // c's 3 is not newer than b's own: a's latest, 5
	a.add(subject, 1)
	poll(wc, a.id) // follows b: 5, not a's latest 6
	if got := [2]uint64{last(wb), last(wc)}; got != [2]uint64{5, 5} {
		t.Fatalf("b and c cosigned sizes %v, want both 5", got)
	}
	// a collects both cosignatures of 5: a subject requiring two witnesses
	// is answered against it.
	poll(wa, b.id)
	poll(wa, c.id)
	logV, _ := tlog.NewVerifier(tlog.Origin(a.id, store.LogInquiry), ka.Public().(ed25519.PublicKey))
	var cos []note.Verifier
	for _, n := range []*logNode{b, c} {
		v, _ := NewVerifier(Name(n.id), n.key.Public().(ed25519.PublicKey))
		cos = append(cos, v)
	}
	res, err := subjectlog.Verify(subjectAnswer(t, a, 2), subjectlog.VerifyOptions{Log: logV, Witnesses: cos, MinWitnesses: 2})
	if err != nil || res.Checkpoint.Size != 5 || len(res.Witnesses) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	// Nothing newer to follow: c cosigns a's latest; b, following c, too.
	poll(wc, a.id)
	poll(wb, a.id)
	if got := [2]uint64{last(wb), last(wc)}; got != [2]uint64{6, 6} {
		t.Fatalf("b and c cosigned sizes %v, want both 6", got)
	}
	if len(cnt.n) != 0 {
		t.Fatalf("alarms %v", cnt.n)
	}
}
