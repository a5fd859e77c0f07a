package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// TestLogVerifyPostgres: `creditnode log verify` on a node whose store is
// PostgreSQL checks both logs against the node's signed checkpoints, and
// names a row edited behind the node's back (append-only trigger dropped by
// the schema's owner) with exit status 1.
func TestLogVerifyPostgres(t *testing.T) {
	ctx := context.Background()
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
	dir := net.NodeDir("tax-dept")
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	nk, err := node.OpenKeys(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, l := range []store.LogID{store.LogInquiry, store.LogOutbound} {
		signer, err := tlog.NewSigner(tlog.Origin(cfg.ID, l), nk.Signer)
		if err != nil {
			t.Fatal(err)
		}
		seq, err := tlog.NewSequencer(ctx, tlog.SequencerOptions{Store: st, Log: l, Signer: signer, CheckpointAfterBatch: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 9 {
			salt := make([]byte, store.SaltSize)
			rand.Read(salt)
			entry := fmt.Appendf(nil, `{"n":%d}`, i)
			if _, err := seq.Append(ctx, store.Leaf{Subject: "S", Time: time.Now(), Entry: entry, Salt: salt, LeafHash: inquirylog.LeafHash(salt, entry)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := seq.Close(); err != nil { // integrates and publishes the final checkpoint
			t.Fatal(err)
		}
	}

	verify := func() (string, error) {
		var out, errOut bytes.Buffer
		root := newRoot(&out, &errOut)
		root.SetArgs([]string{"log", "verify", "--dir", dir})
		err := root.ExecuteContext(ctx)
		return out.String() + errOut.String(), err
	}
	out, err := verify()
	if err != nil {
		t.Fatalf("log verify on an intact PostgreSQL store: %v\n%s", err, out)
	}
	for _, want := range []string{"inquiry log: ok: 9 rows, tree 9", "outbound log: ok: 9 rows, tree 9", "root matches: true"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`DROP TRIGGER outbound_log_no_change ON outbound_log`,
		`UPDATE outbound_log SET entry = convert_to('{"n":99}', 'UTF8') WHERE idx = 4`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out, err = verify()
	var se silentExit
	if !errors.As(err, &se) || se.ExitCode() != 1 {
		t.Fatalf("log verify after an edit: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"inquiry log: ok", "outbound log: TAMPERED", "edited at 4"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestObjectionsCommandsPostgres: the operator's `objections list` and
// `objections resolve` work on a node whose store is PostgreSQL; the
// resolution is written with its inquiry-log entry.
func TestObjectionsCommandsPostgres(t *testing.T) {
	ctx := context.Background()
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
	const subj = "91350100M000100Y43"
	if err := net.ImportRecords(ctx, "tax-dept", []records.Record{{Subject: subj, Category: "tax_payment", ID: "t1",
		Data: json.RawMessage(`{"year":2025}`), UpdatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	leaf, err := inquirylog.NewLeaf(schemas.InquiryEntry{Kind: schemas.KindObjection, Subject: subj, Decision: schemas.DecisionAllow, Record: "t1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FileObjection(ctx, store.Objection{ID: "obj-1", Subject: subj, Category: "tax_payment", RecordID: "t1", Reason: "wrong", FiledAt: time.Now()},
		store.Commit{Requester: "subject:" + subj, RequestID: "obj-1", Leaf: leaf}); err != nil {
		t.Fatal(err)
	}
	dir := net.NodeDir("tax-dept")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		root := newRoot(&out, &errOut)
		root.SetArgs(args)
		err := root.ExecuteContext(ctx)
		return out.String() + errOut.String(), err
	}
	out, err := run("objections", "list", "--dir", dir, "--status", "open")
	if err != nil || !strings.Contains(out, "obj-1") {
		t.Fatalf("objections list: %v\n%s", err, out)
	}
	out, err = run("objections", "resolve", "--dir", dir, "--id", "obj-1", "--status", "upheld", "--reason", "the record is right")
	if err != nil || !strings.Contains(out, "objection obj-1 upheld (log index 1)") {
		t.Fatalf("objections resolve: %v\n%s", err, out)
	}
	if _, err := run("objections", "resolve", "--dir", dir, "--id", "obj-1", "--status", "removed", "--reason", "again"); err == nil {
		t.Fatal("resolving a resolved objection succeeded")
	}
	objs, err := st.Objections(ctx, store.RightsFilter{Subject: subj})
	if err != nil || len(objs) != 1 || objs[0].Status != schemas.ObjectionUpheld || objs[0].Outcome != "the record is right" {
		t.Fatalf("objections after resolve: %+v %v", objs, err)
	}
	if n, err := st.InquiryLogSize(ctx); err != nil || n != 2 {
		t.Fatalf("inquiry log size %d (%v), want 2", n, err)
	}
}
