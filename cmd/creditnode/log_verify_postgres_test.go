package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// TestLogVerifyPostgres: `creditnode log verify` on a node whose store is
// PostgreSQL checks both logs against the node's signed checkpoints, and
// names a row edited behind the node's back (append-only trigger dropped by
// the schema's owner) with exit status 1.
func TestLogVerifyPostgres(t *testing.T) {
	ctx := context.Background()
	n := newPGNode(t)
	cfg, nk := openNodeKeys(t, ctx, n.dir)
	st := n.openStore(t, ctx)
	for _, l := range []store.LogID{store.LogInquiry, store.LogOutbound} {
		appendSigned(t, ctx, st, cfg, nk, l, 9, func(int) string { return "S" })
	}

	verify := func() (string, error) { return runCLI(ctx, "log", "verify", "--dir", n.dir) }
	out, err := verify()
	if err != nil {
		t.Fatalf("log verify on an intact PostgreSQL store: %v\n%s", err, out)
	}
	wantOutput(t, out, "inquiry log: ok: 9 rows, tree 9", "outbound log: ok: 9 rows, tree 9", "root matches: true")

	conn, err := pgx.Connect(ctx, n.url)
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
	wantExit(t, "log verify after an edit", err, 1, out)
	wantOutput(t, out, "inquiry log: ok", "outbound log: TAMPERED", "edited at 4")
}

// TestObjectionsCommandsPostgres: the operator's `objections list` and
// `objections resolve` work on a node whose store is PostgreSQL; the
// resolution is written with its inquiry-log entry.
func TestObjectionsCommandsPostgres(t *testing.T) {
	ctx := context.Background()
	n := newPGNode(t)
	const subj = "91350100M000100Y43"
	if err := n.net.ImportRecords(ctx, "tax-dept", []records.Record{{Subject: subj, Category: "tax_payment", ID: "t1",
		Data: json.RawMessage(`{"year":2025}`), UpdatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	st := n.openStore(t, ctx)
	leaf, err := inquirylog.NewLeaf(schemas.InquiryEntry{Kind: schemas.KindObjection, Subject: subj, Decision: schemas.DecisionAllow, Record: "t1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FileObjection(ctx, store.Objection{ID: "obj-1", Subject: subj, Category: "tax_payment", RecordID: "t1", Reason: "wrong", FiledAt: time.Now()},
		store.Commit{Requester: "subject:" + subj, RequestID: "obj-1", Leaf: leaf}); err != nil {
		t.Fatal(err)
	}
	dir := n.dir
	out, err := runCLI(ctx, "objections", "list", "--dir", dir, "--status", "open")
	if err != nil || !strings.Contains(out, "obj-1") {
		t.Fatalf("objections list: %v\n%s", err, out)
	}
	out, err = runCLI(ctx, "objections", "resolve", "--dir", dir, "--id", "obj-1", "--status", "upheld", "--reason", "the record is right")
	if err != nil || !strings.Contains(out, "objection obj-1 upheld (log index 1)") {
		t.Fatalf("objections resolve: %v\n%s", err, out)
	}
	if _, err := runCLI(ctx, "objections", "resolve", "--dir", dir, "--id", "obj-1", "--status", "removed", "--reason", "again"); err == nil {
		t.Fatal("resolving a resolved objection succeeded")
	}
	objs, err := st.Objections(ctx, store.RightsFilter{Subject: subj})
	if err != nil || len(objs) != 1 || objs[0].Status != schemas.ObjectionUpheld || objs[0].Outcome != "the record is right" {
		t.Fatalf("objections after resolve: %+v %v", objs, err)
	}
	if size, err := st.InquiryLogSize(ctx); err != nil || size != 2 {
		t.Fatalf("inquiry log size %d (%v), want 2", size, err)
	}
}
