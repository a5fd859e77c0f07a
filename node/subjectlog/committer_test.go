package subjectlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// restart is a new Committer on the fixture's store, as after a restart of
// the node: with the fixture's key, or another one.
func (f *fixture) restart(key ed25519.PrivateKey, st Store) *Committer {
	f.t.Helper()
	signer, err := tlog.NewSigner(f.origin, key)
	if err != nil {
		f.t.Fatal(err)
	}
	vrf, err := DeriveVRFKey(key)
	if err != nil {
		f.t.Fatal(err)
	}
	com, err := NewCommitter(CommitterOptions{Tree: f.tree, Store: st, Signer: signer, VRF: vrf})
	if err != nil {
		f.t.Fatal(err)
	}
	return com
}

// fullRebuild is the map root over the first size leaves, computed in
// memory from every leaf (what the Committer did before the map was
// stored).
func (f *fixture) fullRebuild(size uint64) [32]byte {
	f.t.Helper()
	vrf, err := DeriveVRFKey(f.key)
	if err != nil {
		f.t.Fatal(err)
	}
	m := NewMap()
	err = f.st.ScanLeafHashes(context.Background(), store.LogInquiry, 0, func(idx uint64, subject string, h []byte) error {
		if idx < size && subject != "" {
			k, _, err := vrf.SubjectKey(subject)
			if err != nil {
				return err
			}
			m.Append(k, idx, h)
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return m.Root()
}

func latestCheckpoint(t *testing.T, com *Committer) Checkpoint {
	t.Helper()
	text, err := com.Latest()
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(text, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		t.Fatal(err)
	}
	n = unverified.Note
	cp, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func (f *fixture) revisions() []uint64 {
	f.t.Helper()
	rs, err := f.st.SubjectMapRevisions(context.Background(), 100)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []uint64
	for _, r := range rs {
		out = append(out, r.Rev)
	}
	return out
}

// scanCounter records where each leaf scan starts.
type scanCounter struct {
	Store
	froms []uint64
}

func (s *scanCounter) ScanLeafHashes(ctx context.Context, log store.LogID, from uint64, fn func(uint64, string, []byte) error) error {
	s.froms = append(s.froms, from)
	return s.Store.ScanLeafHashes(ctx, log, from, fn)
}

// TestCommitterRestart: a restarted Committer takes the stored map as it
// is (no leaf is read again, no new checkpoint for an unchanged log), then
// goes on from it, to the root a full rebuild from every leaf gives.
func TestCommitterRestart(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, "", subjA)
	f.commit()
	f.log(subjB, subjA)
	f.commit()
	before, _ := f.com.Latest()

	sc := &scanCounter{Store: f.st}
	com := f.restart(f.key, sc)
	if n, err := com.Advance(context.Background()); err != nil || n != 6 {
		t.Fatalf("advance after restart: %d %v", n, err)
	}
	if len(sc.froms) != 0 {
		t.Fatalf("a restart read the leaves from %v", sc.froms)
	}
	after, _ := com.Latest()
	if !bytes.Equal(before, after) {
		t.Fatalf("restart signed a new checkpoint:\n%s\nwas\n%s", after, before)
	}
	f.com = com
	if res, err := Verify(f.answer(subjA), f.opts()); err != nil || res.Committed != 3 {
		t.Fatalf("%+v %v", res, err)
	}

	f.log(subjA, subjB, "91310000MA1FL0000X")
	f.commit()
	if !slices.Equal(sc.froms, []uint64{6}) {
		t.Fatalf("leaf scans from %v, want only the new leaves from 6", sc.froms)
	}
	if cp := latestCheckpoint(t, com); cp.Size != 9 || cp.MapRoot != f.fullRebuild(9) {
		t.Fatalf("after restart: size %d, map root differs from a full rebuild", cp.Size)
	}
	for _, s := range []string{subjA, subjB, "91310000MA1FL0000X", "nobody"} {
		if _, err := Verify(f.answer(s), f.opts()); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestProveOlderRevision: a subject is answered against an older kept
// checkpoint when that is the one witnesses cosigned; once it is no longer
// kept, against the newest.
func TestProveOlderRevision(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, subjA)
	f.commit() // size 3: the one cosigned
	skey, vkey, err := note.GenerateKey(rand.Reader, "witness-w")
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := note.NewSigner(skey)
	wv, _ := note.NewVerifier(vkey)
	old, _ := f.com.Latest()
	n, _ := note.Open(old, note.VerifierList(f.opts().Log))
	cosigned, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, ws)
	if err != nil {
		t.Fatal(err)
	}
	if added, err := f.com.AddCosignatures(t.Context(), cosigned, note.VerifierList(wv)); err != nil || added != 1 {
		t.Fatalf("%d %v", added, err)
	}
	f.log(subjA, subjA)
	f.commit() // size 5
	f.log(subjB)
	f.commit() // size 6

	opts := f.opts(wv)
	opts.MinWitnesses = 1
	res, err := Verify(f.answer1(subjA, 1), opts)
	if err != nil || res.Checkpoint.Size != 3 || res.Committed != 2 || res.Pending != 2 {
		t.Fatalf("against the cosigned revision 3: %+v %v", res, err)
	}
	res, err = Verify(f.answer1(subjA, 0), f.opts())
	if err != nil || res.Checkpoint.Size != 6 || res.Committed != 4 {
		t.Fatalf("against the newest: %+v %v", res, err)
	}
	// Long after, under load: 3 stays (the only witnessed revision); the
	// unwitnessed ones go once superseded for longer than the window (8,
	// superseded just now, stays).
	for range 3 {
		f.advance(2 * DefaultRetentionWindow)
		f.log(subjB)
		f.commit()
	}
	if got := f.revisions(); fmt.Sprint(got) != "[3 8 9]" {
		t.Fatalf("revisions %v", got)
	}
	res, err = Verify(f.answer1(subjA, 1), opts)
	if err != nil || res.Checkpoint.Size != 3 {
		t.Fatalf("against the pinned revision 3: %+v %v", res, err)
	}
	// A newer revision is cosigned: 3 goes at the next commit.
	newest, _ := f.com.Latest()
	n, _ = note.Open(newest, note.VerifierList(f.opts().Log))
	if cosigned, err = note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, ws); err != nil {
		t.Fatal(err)
	}
	if added, err := f.com.AddCosignatures(t.Context(), cosigned, note.VerifierList(wv)); err != nil || added != 1 {
		t.Fatalf("%d %v", added, err)
	}
	f.advance(2 * DefaultRetentionWindow)
	f.log(subjB)
	f.commit()
	if got := f.revisions(); fmt.Sprint(got) != "[9 10]" {
		t.Fatalf("revisions %v", got)
	}
	res, err = Verify(f.answer1(subjA, 1), opts)
	if err != nil || res.Checkpoint.Size != 9 || res.Committed != 4 {
		t.Fatalf("after pruning: %+v %v", res, err)
	}
}

// answer1 is answer with a preference for minCosigs cosignatures.
func (f *fixture) answer1(subject string, minCosigs int) *schemas.SubjectLog {
	f.t.Helper()
	out := f.answer(subject)
	idx := make([]uint64, len(out.Entries))
	for i, e := range out.Entries {
		idx[i] = e.Index
	}
	p, err := f.com.Prove(context.Background(), subject, idx, minCosigs)
	if err != nil {
		f.t.Fatal(err)
	}
	out.Proof = p
	return out
}

// tamper runs a statement on the fixture's database file behind the
// store's back.
func (f *fixture) tamper(query string, args ...any) {
	f.t.Helper()
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(query, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		f.t.Fatalf("%s: no row changed", query)
	}
}

// leafRow finds the newest stored leaf node of subject.
func (f *fixture) leafRow(subject string) (id []byte, rev uint64, data []byte) {
	f.t.Helper()
	vrf, _ := DeriveVRFKey(f.key)
	k, _, _ := vrf.SubjectKey(subject)
	revs := f.revisions()
	err := f.st.ScanSubjectMapNodes(context.Background(), revs[len(revs)-1], func(sn store.SubjectMapNode) error {
		n, err := decodeNode(sn)
		if err == nil && n.leaf && n.key == k {
			id, rev, data = sn.ID, sn.Rev, sn.Data
		}
		return err
	})
	if err != nil || id == nil {
		f.t.Fatalf("no leaf of %s: %v", subject, err)
	}
	return id, rev, data
}

// TestTamperedNode: a stored node changed behind the node's back is
// detected: the subject's proof fails (ErrMapCorrupt, never a proof that
// does not verify) while other subjects' proofs still verify, the offline
// audit names it, Advance fails once and then rebuilds the map from the
// leaves.
func TestTamperedNode(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, subjA, "91310000MA1FL0000X")
	f.commit()
	v := f.opts().Log
	if rep, err := AuditMap(context.Background(), f.st, v); err != nil || !rep.OK() || !rep.RootMatches || rep.Subjects != 3 {
		t.Fatalf("intact: %+v %v", rep, err)
	}

	id, rev, data := f.leafRow(subjA)
	data = bytes.Clone(data)
	data[1+KeySize+8] ^= 1 // the chain head
	f.tamper(`UPDATE subject_map_nodes SET node = ? WHERE id = ? AND rev = ?`, data, id, int64(rev))

	if _, err := f.com.Prove(context.Background(), subjA, nil, 0); !errors.Is(err, ErrMapCorrupt) {
		t.Fatalf("proof over a tampered leaf: %v", err)
	}
	if _, err := Verify(f.answer(subjB), f.opts()); err != nil {
		t.Fatalf("another subject: %v", err)
	}
	rep, err := AuditMap(context.Background(), f.st, v)
	if err != nil || rep.OK() || rep.RootMatches {
		t.Fatalf("audit of a tampered map: %+v %v", rep, err)
	}
	t.Logf("audit: %q", rep.Problems)

	f.log(subjA)
	if _, err := f.seq.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.com.Advance(context.Background()); !errors.Is(err, ErrMapCorrupt) {
		t.Fatalf("advance over a tampered leaf: %v", err)
	}
	if cp := latestCheckpoint(t, f.com); cp.Size != 4 {
		t.Fatalf("a checkpoint of size %d was served over a corrupt map", cp.Size)
	}
	if n := f.commit(); n != 5 { // rebuilds
		t.Fatalf("size %d", n)
	}
	if got := f.revisions(); !slices.Equal(got, []uint64{5}) {
		t.Fatalf("revisions after the rebuild: %v", got)
	}
	if cp := latestCheckpoint(t, f.com); cp.MapRoot != f.fullRebuild(5) {
		t.Fatal("rebuilt root differs from a full rebuild")
	}
	if res, err := Verify(f.answer(subjA), f.opts()); err != nil || res.Committed != 3 {
		t.Fatalf("after the rebuild: %+v %v", res, err)
	}
	if rep, err := AuditMap(context.Background(), f.st, v); err != nil || !rep.OK() {
		t.Fatalf("audit after the rebuild: %+v %v", rep, err)
	}
}

// TestTamperedInternalNode: an internal node's stored child hash changed.
func TestTamperedInternalNode(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, "91310000MA1FL0000X", "91110108MA00000001")
	f.commit()
	root := pos(Key{}, 0)
	var data []byte
	var rev uint64
	err := f.st.ScanSubjectMapNodes(context.Background(), 4, func(sn store.SubjectMapNode) error {
		if string(sn.ID) == root {
			data, rev = bytes.Clone(sn.Data), sn.Rev
		}
		return nil
	})
	if err != nil || len(data) != internalNodeSize {
		t.Fatalf("root node: %x %v", data, err)
	}
	data[5] ^= 0x40
	f.tamper(`UPDATE subject_map_nodes SET node = ? WHERE id = ? AND rev = ?`, data, []byte(root), int64(rev))
	for _, s := range []string{subjA, subjB} {
		if _, err := f.com.Prove(context.Background(), s, nil, 0); !errors.Is(err, ErrMapCorrupt) {
			t.Fatalf("%s: %v", s, err)
		}
	}
	rep, err := AuditMap(context.Background(), f.st, f.opts().Log)
	if err != nil || rep.OK() {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestTamperedCheckpoint: a stored checkpoint that is not what this node
// signs is refused at start-up (ErrMapCorrupt), and the map rebuilt.
func TestTamperedCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB)
	f.commit()
	// Another map root, still a well-formed checkpoint (but not signed).
	rs, err := f.st.SubjectMapRevisions(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	text := string(rs[0].Note)
	i := strings.Index(text, "cx-subject-map ") + len("cx-subject-map ")
	c := "B"
	if text[i] == 'B' {
		c = "C"
	}
	f.tamper(`UPDATE subject_map_revisions SET note = ? WHERE rev = ?`, []byte(text[:i]+c+text[i+1:]), int64(rs[0].Rev))
	com := f.restart(f.key, f.st)
	if _, err := com.Advance(context.Background()); !errors.Is(err, ErrMapCorrupt) {
		t.Fatalf("start-up over a tampered checkpoint: %v", err)
	}
	if _, err := com.Latest(); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("a tampered checkpoint is served: %v", err)
	}
	if n, err := com.Advance(context.Background()); err != nil || n != 2 {
		t.Fatalf("rebuild: %d %v", n, err)
	}
	f.com = com
	if _, err := Verify(f.answer(subjA), f.opts()); err != nil {
		t.Fatal(err)
	}
}

// TestKeyRotationRebuilds: under a new signing key (and so a new VRF key),
// the stored map is another key's; the Committer rebuilds it.
func TestKeyRotationRebuilds(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB, subjA)
	f.commit()
	_, newKey, _ := ed25519.GenerateKey(nil)
	com := f.restart(newKey, f.st)
	if n, err := com.Advance(context.Background()); err != nil || n != 3 {
		t.Fatalf("%d %v", n, err)
	}
	f.com, f.key = com, newKey
	if res, err := Verify(f.answer(subjA), f.opts()); err != nil || res.Committed != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if cp := latestCheckpoint(t, com); cp.MapRoot != f.fullRebuild(3) {
		t.Fatal("root differs from a full rebuild under the new key")
	}
}

// failingStore fails CommitSubjectMap: before writing anything, or (lost)
// after the commit landed, as when the connection drops on COMMIT.
type failingStore struct {
	Store
	lost bool
}

var errInjected = errors.New("injected failure")

func (s *failingStore) CommitSubjectMap(ctx context.Context, u store.SubjectMapUpdate) error {
	if s.lost {
		if err := s.Store.CommitSubjectMap(ctx, u); err != nil {
			return err
		}
	}
	return errInjected
}

// TestCommitFailure: a checkpoint is served only once its map is stored.
// A commit that failed leaves the served checkpoint and the store as they
// were; a commit whose outcome was lost is picked up from the store by the
// next Advance, with no checkpoint signed twice for one size.
func TestCommitFailure(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB)
	f.commit()
	for _, lost := range []bool{false, true} {
		fs := &failingStore{Store: f.st, lost: lost}
		com := f.restart(f.key, fs)
		if _, err := com.Advance(context.Background()); err != nil { // loads size 2
			t.Fatal(err)
		}
		before := f.revisions()
		f.log(subjA)
		if _, err := f.seq.Publish(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := com.Advance(context.Background()); !errors.Is(err, errInjected) {
			t.Fatalf("lost=%t: %v", lost, err)
		}
		if cp := latestCheckpoint(t, com); cp.Size != before[len(before)-1] {
			t.Fatalf("lost=%t: checkpoint of size %d served before its map was known stored", lost, cp.Size)
		}
		after := f.revisions()
		if !lost && !slices.Equal(before, after) || lost && len(after) != len(before)+1 {
			t.Fatalf("lost=%t: revisions %v → %v", lost, before, after)
		}
		com.opts.Store = f.st
		n, err := com.Advance(context.Background())
		if err != nil {
			t.Fatalf("lost=%t: next advance: %v", lost, err)
		}
		if got := f.revisions(); got[len(got)-1] != n {
			t.Fatalf("lost=%t: revisions %v, served %d", lost, got, n)
		}
		f.com = com
		if _, err := Verify(f.answer(subjA), f.opts()); err != nil {
			t.Fatalf("lost=%t: %v", lost, err)
		}
	}
}

// TestFoldInSteps: a log far ahead of the stored map is caught up in
// steps of at most maxFold leaves, each a signed revision, to the root of
// a full rebuild.
func TestFoldInSteps(t *testing.T) {
	f := newFixture(t)
	f.com.maxFold = 3
	for i := range 10 {
		f.log([]string{subjA, subjB, "", "91310000MA1FL0000X"}[i%4])
	}
	if n := f.commit(); n != 10 {
		t.Fatalf("size %d", n)
	}
	if got := f.revisions(); !slices.Equal(got, []uint64{3, 6, 9, 10}) {
		t.Fatalf("revisions %v", got)
	}
	if cp := latestCheckpoint(t, f.com); cp.MapRoot != f.fullRebuild(10) {
		t.Fatal("root differs from a full rebuild")
	}
	if rep, err := AuditMap(context.Background(), f.st, f.opts().Log); err != nil || !rep.OK() || rep.Revision != 10 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestProveDuringAdvance: proofs taken while revisions are committed and
// pruned all verify (a proof against a revision pruned meanwhile is taken
// again against a newer one).
func TestProveDuringAdvance(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB)
	f.commit()
	opts := f.opts()
	done := make(chan struct{})
	errs := make(chan error, 2)
	for _, s := range []string{subjA, subjB} {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				sl, err := f.answerErr(s)
				if err == nil {
					_, err = Verify(sl, opts)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 20 {
		f.log([]string{subjA, subjB}[i%2])
		f.commit()
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// prunedOnce answers the first node read as if its revision had just been
// pruned.
type prunedOnce struct {
	Store
	done bool
}

func (s *prunedOnce) SubjectMapNodes(ctx context.Context, rev uint64, ids [][]byte) ([]store.SubjectMapNode, error) {
	if !s.done {
		s.done = true
		return nil, store.ErrNotFound
	}
	return s.Store.SubjectMapNodes(ctx, rev, ids)
}

// TestProvePrunedMeanwhile: a revision pruned between picking it and
// reading its nodes is replaced by the newest.
func TestProvePrunedMeanwhile(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB)
	f.commit()
	f.com.opts.Store = &prunedOnce{Store: f.st}
	if _, err := Verify(f.answer(subjA), f.opts()); err != nil {
		t.Fatal(err)
	}
}

// TestProveAfterEntriesRead: a checkpoint committed between reading the
// subject's entries and proving them (it counts an entry the reader did not
// see) is not used; the older one the entries match is, and verifies.
func TestProveAfterEntriesRead(t *testing.T) {
	f := newFixture(t)
	f.log(subjA, subjB)
	f.commit()
	read, err := f.answerErr(subjA) // entries and proof at the first checkpoint
	if err != nil {
		t.Fatal(err)
	}
	f.log(subjA) // a new entry of A, committed before A's proof is made
	f.commit()
	idx := make([]uint64, len(read.Entries))
	for i, e := range read.Entries {
		idx[i] = e.Index
	}
	if read.Proof, err = f.com.Prove(t.Context(), subjA, idx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(read, f.opts()); err != nil {
		t.Fatalf("entries read before a commit do not verify: %v", err)
	}
	// Read again: the newest checkpoint is used and counts both entries.
	again, err := f.answerErr(subjA)
	if err != nil {
		t.Fatal(err)
	}
	if again.Proof.Count != 2 || len(again.Entries) != 2 {
		t.Fatalf("count %d, %d entries", again.Proof.Count, len(again.Entries))
	}
	if _, err := Verify(again, f.opts()); err != nil {
		t.Fatal(err)
	}
}

// TestAdvanceReportsProgress: AdvanceWithProgress reports every leaf it
// folds, against the whole catch-up across fold steps, and nothing when the
// map is already up to the tree.
func TestAdvanceReportsProgress(t *testing.T) {
	f := newFixture(t)
	f.com.maxFold = 3
	for i := range 10 {
		f.log([]string{subjA, subjB, ""}[i%3])
	}
	type call struct{ done, total uint64 }
	var calls []call
	progress := func(done, total uint64) { calls = append(calls, call{done, total}) }
	advance := func() uint64 {
		t.Helper()
		if _, err := f.seq.Publish(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, err := f.com.AdvanceWithProgress(context.Background(), progress)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := advance(); n != 10 {
		t.Fatalf("size %d", n)
	}
	var want []call
	for i := range uint64(11) {
		want = append(want, call{i, 10})
	}
	if !slices.Equal(calls, want) {
		t.Fatalf("first catch-up reported %v, want %v", calls, want)
	}
	calls = nil
	f.log(subjA, subjB)
	if n := advance(); n != 12 {
		t.Fatalf("size %d", n)
	}
	if want := []call{{0, 2}, {1, 2}, {2, 2}}; !slices.Equal(calls, want) {
		t.Fatalf("second catch-up reported %v, want %v", calls, want)
	}
	calls = nil
	if n := advance(); n != 12 || calls != nil {
		t.Fatalf("up to date: size %d, reported %v", n, calls)
	}
}
