package subjectlog

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

const (
	subjA = "91110000100000016D"
	subjB = "11110000000013127H"
)

// fixture is a provider: a real SQLite store, the tlog sequencer, and a
// Committer following its tree.
type fixture struct {
	t      testing.TB
	st     *store.SQLite
	seq    *tlog.Sequencer
	tree   *tlog.Tree
	com    *Committer
	key    ed25519.PrivateKey
	origin string
	path   string    // the SQLite file
	now    time.Time // the Committer's clock
}

// storeKeep is how many revisions the store tests of this package keep.
const storeKeep = 4

// advance moves the fixture's clock on by d.
func (f *fixture) advance(d time.Duration) { f.now = f.now.Add(d) }

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "node.db")
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, key, _ := ed25519.GenerateKey(nil)
	origin := tlog.Origin("tax-dept", store.LogInquiry)
	signer, err := tlog.NewSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := tlog.NewSequencer(ctx, tlog.SequencerOptions{Store: st, Log: store.LogInquiry, Signer: signer, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seq.Close() })
	vrf, err := DeriveVRFKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tree := tlog.NewTree(st, store.LogInquiry)
	f := &fixture{t: t, st: st, seq: seq, tree: tree, key: key, origin: origin, path: path, now: time.Unix(1_800_000_000, 0)}
	f.com, err = NewCommitter(CommitterOptions{Tree: tree, Store: st, Signer: signer, VRF: vrf, Clock: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// log appends one entry per subject given ("" for an unattributed denial).
func (f *fixture) log(subjects ...string) {
	f.t.Helper()
	for _, s := range subjects {
		e := schemas.InquiryEntry{Kind: schemas.KindQuery, Requester: "bank-a", Subject: s, Purpose: "loan_approval", Decision: schemas.DecisionAllow}
		if s == "" {
			e.Decision = schemas.DecisionDeny
		}
		l, err := inquirylog.NewLeaf(e, time.Now())
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.seq.AppendInquiry(context.Background(), l); err != nil {
			f.t.Fatal(err)
		}
	}
}

// commit integrates the tree and advances the map.
func (f *fixture) commit() uint64 {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.seq.Publish(ctx); err != nil {
		f.t.Fatal(err)
	}
	n, err := f.com.Advance(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// answer is what the provider sends subject.
func (f *fixture) answer(subject string) *schemas.SubjectLog {
	f.t.Helper()
	out, err := f.answerErr(subject)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// answerErr is answer for any goroutine.
func (f *fixture) answerErr(subject string) (*schemas.SubjectLog, error) {
	ctx := context.Background()
	leaves, err := f.st.SubjectInquiries(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := &schemas.SubjectLog{Issuer: "tax-dept", Subject: subject}
	var idx []uint64
	for _, l := range leaves {
		le, err := inquirylog.Decode(l)
		if err != nil {
			return nil, err
		}
		out.Entries = append(out.Entries, le)
		idx = append(idx, le.Index)
	}
	if out.Proof, err = f.com.Prove(ctx, subject, idx, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *fixture) opts(witnesses ...note.Verifier) VerifyOptions {
	v, err := tlog.NewVerifier(f.origin, f.key.Public().(ed25519.PublicKey))
	if err != nil {
		f.t.Fatal(err)
	}
	return VerifyOptions{Log: v, Witnesses: witnesses}
}
