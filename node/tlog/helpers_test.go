package tlog_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/node/tlog"
)

const testOrigin = "creditexchange/test-node/inquiry"

// testStore is what the tests use of a store backend.
type testStore interface {
	tlog.SequencerStore
	tlog.TreeReader
	tlog.AuditStore
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
	InquiryLeaves(ctx context.Context, from, to uint64) ([]store.StoredLeaf, error)
	Close() error
}

var (
	_ testStore = (*store.SQLite)(nil)
	_ testStore = (*store.Postgres)(nil)
)

// backend opens a new, empty store for a test and says where it is: the
// SQLite file or the PostgreSQL URL (for tampering behind its back).
type backend struct {
	name string
	open func(t testing.TB) (st testStore, where string)
}

var backends = []backend{
	{"sqlite", func(t testing.TB) (testStore, string) {
		path := filepath.Join(t.TempDir(), "node.db")
		st, err := store.OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return st, path
	}},
	{"postgres", func(t testing.TB) (testStore, string) {
		url := pgtest.Schema(t) // fails, never skips, without a server
		st, err := store.OpenPostgres(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return st, url
	}},
}

// eachBackend runs fn once per store backend, as a subtest, with a
// newFixture that opens that backend.
func eachBackend(t *testing.T, fn func(t *testing.T, newFixture func(testing.TB) *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, func(t testing.TB) *fixture { return newFixtureOn(t, b) })
		})
	}
}

type fixture struct {
	st      testStore
	dialect string // backend name
	path    string // SQLite file or PostgreSQL URL
	key     ed25519.PrivateKey
	sig     note.Signer
	ver     note.Verifier
	seq     *tlog.Sequencer
	tree    *tlog.Tree
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newFixture is a fixture on SQLite.
func newFixture(t testing.TB) *fixture { return newFixtureOn(t, backends[0]) }

func newFixtureOn(t testing.TB, b backend) *fixture {
	t.Helper()
	st, path := b.open(t)
	t.Cleanup(func() { st.Close() })
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := tlog.NewSigner(testOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := tlog.NewVerifier(testOrigin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, dialect: b.name, path: path, key: key, sig: sig, ver: ver, tree: tlog.NewTree(st, store.LogInquiry)}
	f.start(t)
	return f
}

func (f *fixture) start(t testing.TB) {
	t.Helper()
	seq, err := tlog.NewSequencer(context.Background(), tlog.SequencerOptions{
		Store: f.st, Log: store.LogInquiry, Signer: f.sig, CheckpointAfterBatch: true, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.seq = seq
	t.Cleanup(func() { seq.Close() })
}

func leaf(t testing.TB, i int) store.Leaf {
	t.Helper()
	salt := make([]byte, store.SaltSize)
	rand.Read(salt)
	entry := fmt.Appendf(nil, `{"n":%d,"subject":"S%d"}`, i, i%7)
	return store.Leaf{Subject: fmt.Sprintf("S%d", i%7), Time: time.Now(), Entry: entry, Salt: salt, LeafHash: inquirylog.LeafHash(salt, entry)}
}

// appendN appends n leaves through the sequencer and publishes a checkpoint.
func (f *fixture) appendN(t testing.TB, n int) []store.Appended {
	t.Helper()
	ctx := context.Background()
	out := make([]store.Appended, n)
	for i := range n {
		a, err := f.seq.AppendInquiry(ctx, leaf(t, i))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	if _, err := f.seq.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	return out
}

// latest returns the verified latest checkpoint.
func (f *fixture) latest(t testing.TB) tlog.Checkpoint {
	t.Helper()
	n, err := f.tree.LatestCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.VerifyCheckpoint(n, f.ver)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
