package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/node/tlog"
)

// pgNode is a one-node federation, tax-dept, whose store is a PostgreSQL
// schema of the test's own: what the tests of the commands that work on a
// node's database start from.
type pgNode struct {
	net *devnet.Network
	dir string // the node's directory
	url string // the node's store
}

// newPGNode creates the federation in a temporary directory and points
// tax-dept's store at a fresh schema, dropped when t ends.
func newPGNode(t *testing.T) *pgNode {
	t.Helper()
	net, err := devnet.Create(filepath.Join(t.TempDir(), "fed"), []devnet.Spec{
		{ID: "tax-dept", Organisation: "Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"tax_payment": "authorised"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.Schema(t)
	if err := net.SetStore("tax-dept", url); err != nil {
		t.Fatal(err)
	}
	return &pgNode{net: net, dir: net.NodeDir("tax-dept"), url: url}
}

// openStore opens the node's store, closed when t ends.
func (n *pgNode) openStore(t *testing.T, ctx context.Context) *store.Postgres {
	t.Helper()
	st, err := store.OpenPostgres(ctx, n.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openNodeKeys loads the configuration of the node in dir and opens its keys.
func openNodeKeys(t *testing.T, ctx context.Context, dir string) (*config.Config, *keys.NodeKeys) {
	t.Helper()
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	nk, err := node.OpenKeys(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, nk
}

// appendSigned appends count leaves {"n":i}, of subject(i), to log l of st
// through a sequencer that signs a checkpoint after every batch, and returns
// the log's checkpoint signer. The final checkpoint is published on return.
func appendSigned(t *testing.T, ctx context.Context, st *store.Postgres, cfg *config.Config, nk *keys.NodeKeys,
	l store.LogID, count int, subject func(i int) string) note.Signer {
	t.Helper()
	signer, err := tlog.NewSigner(tlog.Origin(cfg.ID, l), nk.Signer)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := tlog.NewSequencer(ctx, tlog.SequencerOptions{Store: st, Log: l, Signer: signer, CheckpointAfterBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range count {
		salt := make([]byte, store.SaltSize)
		rand.Read(salt)
		entry := fmt.Appendf(nil, `{"n":%d}`, i)
		leaf := store.Leaf{Subject: subject(i), Time: time.Now(), Entry: entry, Salt: salt, LeafHash: inquirylog.LeafHash(salt, entry)}
		if _, err := seq.Append(ctx, leaf); err != nil {
			t.Fatal(err)
		}
	}
	if err := seq.Close(); err != nil { // integrates and publishes the final checkpoint
		t.Fatal(err)
	}
	return signer
}

// runCLI runs creditnode with args and returns what it wrote to stdout and
// then to stderr.
func runCLI(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String() + errOut.String(), err
}

// wantExit fails the test unless err, from the command run described by
// what, is the silent exit with status code by which a command reports a
// finding; out is the command's output.
func wantExit(t *testing.T, what string, err error, code int, out string) {
	t.Helper()
	var se silentExit
	if !errors.As(err, &se) || se.ExitCode() != code {
		t.Fatalf("%s: %v, want exit status %d\n%s", what, err, code, out)
	}
}

// wantOutput fails the test unless out contains every string of want.
func wantOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}
