package subjectlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// cosigBackend is a store the node runs on, as the cosignature tests use it.
type cosigBackend interface {
	Store
	tlog.SequencerStore
	tlog.TreeReader
	Close() error
}

// cosigEnv is a provider on a real store that can be closed and reopened
// (a restart), with two witnesses' note keys.
type cosigEnv struct {
	t      *testing.T
	open   func() cosigBackend
	tamper func(query string, args ...any) // runs a statement behind the store's back
	st     cosigBackend
	seq    *tlog.Sequencer
	tree   *tlog.Tree
	com    *Committer
	key    ed25519.PrivateKey
	origin string
	logV   note.Verifier
	ws     [2]note.Signer
	wv     [2]note.Verifier
	logs   *syncBuffer // what the Committer logged
}

// syncBuffer is a bytes.Buffer safe for a slog handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cosigBackends run each test on SQLite and on PostgreSQL.
var cosigBackends = []struct {
	name string
	env  func(t *testing.T) (open func() cosigBackend, tamper func(string, ...any))
}{
	{"sqlite", func(t *testing.T) (func() cosigBackend, func(string, ...any)) {
		path := filepath.Join(t.TempDir(), "node.db")
		open := func() cosigBackend {
			st, err := store.OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		tamper := func(q string, args ...any) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			res, err := db.Exec(q, args...)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				t.Fatalf("%s: no row changed", q)
			}
		}
		return open, tamper
	}},
	{"postgres", func(t *testing.T) (func() cosigBackend, func(string, ...any)) {
		url := pgtest.Schema(t)
		open := func() cosigBackend {
			st, err := store.OpenPostgres(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		tamper := func(q string, args ...any) {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for i := range args { // the SQLite placeholders of the statement
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i+1), 1)
			}
			tag, err := conn.Exec(ctx, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			if tag.RowsAffected() == 0 {
				t.Fatalf("%s: no row changed", q)
			}
		}
		return open, tamper
	}},
}

func newCosigEnv(t *testing.T, env func(t *testing.T) (func() cosigBackend, func(string, ...any))) *cosigEnv {
	t.Helper()
	open, tamper := env(t)
	_, key, _ := ed25519.GenerateKey(nil)
	e := &cosigEnv{t: t, open: open, tamper: tamper, key: key, origin: tlog.Origin("tax-dept", store.LogInquiry), logs: &syncBuffer{}}
	var err error
	if e.logV, err = tlog.NewVerifier(e.origin, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	for i := range e.ws {
		skey, vkey, err := note.GenerateKey(rand.Reader, fmt.Sprintf("witness-%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		e.ws[i], _ = note.NewSigner(skey)
		e.wv[i], _ = note.NewVerifier(vkey)
	}
	e.start(e.wv[:]...)
	t.Cleanup(e.stop)
	return e
}

// start opens the store and starts a sequencer and a Committer whose
// witness keys in force are witnesses (none: Witnesses is nil), and loads
// the stored map.
func (e *cosigEnv) start(witnesses ...note.Verifier) {
	e.t.Helper()
	ctx := context.Background()
	e.st = e.open()
	signer, err := tlog.NewSigner(e.origin, e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.seq, err = tlog.NewSequencer(ctx, tlog.SequencerOptions{Store: e.st, Log: store.LogInquiry, Signer: signer, CheckpointInterval: time.Hour}); err != nil {
		e.t.Fatal(err)
	}
	vrf, err := DeriveVRFKey(e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tree = tlog.NewTree(e.st, store.LogInquiry)
	// At most four revisions, all within the window (the real clock).
	opts := CommitterOptions{Tree: e.tree, Store: e.st, Signer: signer, VRF: vrf, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Retention: Retention{Max: 4}}
	if witnesses != nil {
		opts.Witnesses = func() note.Verifiers { return note.VerifierList(witnesses...) }
	}
	if e.com, err = NewCommitter(opts); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.com.Advance(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *cosigEnv) stop() {
	if e.seq != nil {
		e.seq.Close()
		e.st.Close()
		e.seq = nil
	}
}

// restart closes the store and starts again on it.
func (e *cosigEnv) restart(witnesses ...note.Verifier) {
	e.t.Helper()
	e.stop()
	e.start(witnesses...)
}

// commit logs one entry of subjA and commits the map: a new revision.
func (e *cosigEnv) commit() uint64 {
	e.t.Helper()
	ctx := context.Background()
	l, err := inquirylog.NewLeaf(schemas.InquiryEntry{Kind: schemas.KindQuery, Requester: "bank-a", Subject: subjA, Purpose: "loan_approval", Decision: schemas.DecisionAllow}, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.seq.AppendInquiry(ctx, l); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.seq.Publish(ctx); err != nil {
		e.t.Fatal(err)
	}
	n, err := e.com.Advance(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// cosign is the newest checkpoint cosigned by the witnesses i.
func (e *cosigEnv) cosign(witnesses ...int) []byte {
	e.t.Helper()
	text, err := e.com.Latest()
	if err != nil {
		e.t.Fatal(err)
	}
	n, err := note.Open(text, note.VerifierList(e.logV))
	if err != nil {
		e.t.Fatal(err)
	}
	var signers []note.Signer
	for _, i := range witnesses {
		signers = append(signers, e.ws[i])
	}
	out, err := note.Sign(&note.Note{Text: n.Text, Sigs: n.Sigs}, signers...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *cosigEnv) add(cosigned []byte, want int) {
	e.t.Helper()
	n, err := e.com.AddCosignatures(context.Background(), cosigned, note.VerifierList(e.wv[:]...))
	if err != nil || n != want {
		e.t.Fatalf("added %d, %v; want %d", n, err, want)
	}
}

// held is "size:cosignatures" of each kept checkpoint, oldest first.
func (e *cosigEnv) held() string {
	e.com.mu.RLock()
	defer e.com.mu.RUnlock()
	var out []string
	for _, s := range e.com.snaps {
		var names []string
		for _, c := range s.cosigs {
			names = append(names, c.Name)
		}
		out = append(out, fmt.Sprintf("%d:%s", s.cp.Size, strings.Join(names, ",")))
	}
	return strings.Join(out, " ")
}

// stored is how many cosignatures the store holds for each of revs.
func (e *cosigEnv) stored(revs ...uint64) []int {
	e.t.Helper()
	cs, err := e.st.SubjectCosignatures(context.Background(), revs)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]int, len(revs))
	for _, c := range cs {
		for i, r := range revs {
			if c.Rev == r {
				out[i]++
			}
		}
	}
	return out
}

// verifyAgainst checks the answer to subjA preferring minCosigs
// cosignatures: against the checkpoint of size want, with minCosigs
// cosignatures that verify.
func (e *cosigEnv) verifyAgainst(minCosigs int, want uint64) {
	e.t.Helper()
	ctx := context.Background()
	leaves, err := e.st.(interface {
		SubjectInquiries(ctx context.Context, subject string) ([]store.StoredLeaf, error)
	}).SubjectInquiries(ctx, subjA)
	if err != nil {
		e.t.Fatal(err)
	}
	sl := &schemas.SubjectLog{Issuer: "tax-dept", Subject: subjA}
	var idx []uint64
	for _, l := range leaves {
		le, err := inquirylog.Decode(l)
		if err != nil {
			e.t.Fatal(err)
		}
		sl.Entries = append(sl.Entries, le)
		idx = append(idx, le.Index)
	}
	if sl.Proof, err = e.com.Prove(ctx, subjA, idx, minCosigs); err != nil {
		e.t.Fatal(err)
	}
	res, err := Verify(sl, VerifyOptions{Log: e.logV, Witnesses: e.wv[:], MinWitnesses: minCosigs})
	if err != nil || res.Checkpoint.Size != want {
		e.t.Fatalf("answer with %d cosignatures: %+v %v, want the checkpoint of size %d", minCosigs, res, err, want)
	}
}

// TestCosignaturesDurable: cosignatures are stored as they are collected,
// once each, and after a restart every kept checkpoint, not only the
// newest, carries them again, verified under the witness keys in force:
// a stored signature altered in the database, or of a key no longer in
// force, is dropped and logged by the witness's name. Pruning a revision
// removes its cosignatures.
func TestSubjectCosignaturesDurable(t *testing.T) {
	for _, b := range cosigBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newCosigEnv(t, b.env)
			e.commit()
			e.commit()
			e.commit() // size 3: cosigned by both witnesses
			e.add(e.cosign(0, 1), 2)
			e.add(e.cosign(0, 1), 0) // idempotent
			e.add(e.cosign(1), 0)
			e.commit()
			e.commit() // size 5: by witness 1
			e.add(e.cosign(0), 1)
			e.commit() // size 6: not yet
			if got := e.stored(3, 5, 6); fmt.Sprint(got) != "[2 1 0]" {
				t.Fatalf("stored %v", got)
			}
			if got, want := e.held(), "3:witness-1,witness-2 4: 5:witness-1 6:"; got != want {
				t.Fatalf("held %q, want %q", got, want)
			}

			// After a restart the older checkpoints carry their cosignatures:
			// a subject asking for two is answered against size 3.
			e.restart(e.wv[:]...)
			if got, want := e.held(), "3:witness-1,witness-2 4: 5:witness-1 6:"; got != want {
				t.Fatalf("after a restart: held %q, want %q", got, want)
			}
			e.verifyAgainst(2, 3)
			e.verifyAgainst(1, 5)
			if got := e.logs.String(); strings.Contains(got, "dropped") {
				t.Fatalf("a cosignature was dropped: %s", got)
			}

			// Witness 2's key is no longer in force: its cosignature is
			// dropped (and stays stored, should the key come back).
			e.restart(e.wv[0])
			if got, want := e.held(), "3:witness-1 4: 5:witness-1 6:"; got != want {
				t.Fatalf("with witness 1 only: held %q, want %q", got, want)
			}
			if got := e.logs.String(); !strings.Contains(got, "witness=witness-2") || strings.Contains(got, "witness=witness-1") {
				t.Fatalf("log: %s", got)
			}

			// Witness 1's stored signature of size 5 altered.
			e.tamper(`UPDATE subject_map_cosignatures SET sig = ? WHERE rev = 5`, append(e.hashPrefix(0), bytes.Repeat([]byte{7}, 64)...))
			e.restart(e.wv[:]...)
			if got, want := e.held(), "3:witness-1,witness-2 4: 5: 6:"; got != want {
				t.Fatalf("after tampering: held %q, want %q", got, want)
			}
			// Its key hash altered (the bytes are another key's).
			e.tamper(`UPDATE subject_map_cosignatures SET key_hash = key_hash + 1 WHERE rev = 3 AND key_name = ?`, "witness-2")
			e.restart(e.wv[:]...)
			if got, want := e.held(), "3:witness-1 4: 5: 6:"; got != want {
				t.Fatalf("after tampering a hash: held %q, want %q", got, want)
			}
			e.verifyAgainst(1, 3)
			// Dropped ones are logged by the witness's name and the
			// checkpoint's size, nothing of the signature.
			lines := 0
			for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
				if !droppedLine.MatchString(l) {
					t.Fatalf("log line %q", l)
				}
				lines++
			}
			if lines != 4 { // witness 2's of 3, witness 1's of 5 (twice)
				t.Fatalf("%d cosignatures dropped, want 4:\n%s", lines, e.logs.String())
			}

			// Without witness keys, no stored cosignature is served.
			e.restart()
			if got, want := e.held(), "3: 4: 5: 6:"; got != want {
				t.Fatalf("without witness keys: held %q, want %q", got, want)
			}

			// Revision 3 stays while it is the most witnessed; once a newer
			// one is as witnessed, the older ones are pruned and their
			// cosignatures go with them.
			e.restart(e.wv[:]...)
			e.commit()
			if got, want := e.held(), "3:witness-1 5: 6: 7:"; got != want {
				t.Fatalf("held %q, want %q", got, want)
			}
			e.add(e.cosign(0, 1), 2)
			e.commit()
			e.commit()
			if got, want := e.held(), "6: 7:witness-1,witness-2 8: 9:"; got != want {
				t.Fatalf("held %q, want %q", got, want)
			}
			if got := e.stored(3, 4, 5, 6, 7, 8, 9); fmt.Sprint(got) != "[0 0 0 0 2 0 0]" {
				t.Fatalf("stored after pruning %v", got)
			}
		})
	}
}

// hashPrefix is the key hash of witness i, as its signatures begin.
func (e *cosigEnv) hashPrefix(i int) []byte {
	h := e.wv[i].KeyHash()
	return []byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)}
}

// droppedLine is how a dropped stored cosignature is logged.
var droppedLine = regexp.MustCompile(`^time=\S+ level=WARN msg="stored witness cosignature dropped: [^"]*" witness=witness-[12] size=[35]$`)

// failingCosigs fails AddSubjectCosignatures.
type failingCosigs struct{ cosigBackend }

func (failingCosigs) AddSubjectCosignatures(context.Context, []store.SubjectCosignature) (int, error) {
	return 0, fmt.Errorf("%w: injected", store.ErrUnavailable)
}

// TestCosignaturesFailClosed: a cosignature that could not be stored is
// not served, and the failure is returned.
func TestSubjectCosignaturesFailClosed(t *testing.T) {
	e := newCosigEnv(t, cosigBackends[0].env)
	e.commit()
	e.com.opts.Store = failingCosigs{e.st}
	n, err := e.com.AddCosignatures(context.Background(), e.cosign(0), note.VerifierList(e.wv[:]...))
	if !errors.Is(err, store.ErrUnavailable) || n != 0 {
		t.Fatalf("added %d, %v; want the store's failure", n, err)
	}
	if got := e.held(); got != "0: 1:" {
		t.Fatalf("held %q: a cosignature not stored is served", got)
	}
	text, err := e.com.noteWithCosigsOfLatest()
	if err != nil || strings.Contains(string(text), "witness-1") {
		t.Fatalf("served %s %v", text, err)
	}
	e.com.opts.Store = e.st
	e.add(e.cosign(0), 1)
	if got := e.stored(1); fmt.Sprint(got) != "[1]" {
		t.Fatalf("stored %v", got)
	}
}

// noteWithCosigsOfLatest is the newest checkpoint as Prove would serve it.
func (c *Committer) noteWithCosigsOfLatest() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.snaps[len(c.snaps)-1].noteWithCosigs()
}
