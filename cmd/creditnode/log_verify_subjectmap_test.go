package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
)

// TestLogVerifySubjectMapPostgres: `creditnode log verify` checks the
// stored subject map against the node's last signed subject checkpoint and
// the log's leaves, and names a map node changed in the database (exit 1).
func TestLogVerifySubjectMapPostgres(t *testing.T) {
	ctx := context.Background()
	n := newPGNode(t)
	cfg, nk := openNodeKeys(t, ctx, n.dir)
	st := n.openStore(t, ctx)
	signer := appendSigned(t, ctx, st, cfg, nk, store.LogInquiry, 9, func(i int) string { return fmt.Sprintf("S%d", i%4) })
	vrf, err := subjectlog.DeriveVRFKey(nk.Signer)
	if err != nil {
		t.Fatal(err)
	}
	com, err := subjectlog.NewCommitter(subjectlog.CommitterOptions{Tree: tlog.NewTree(st, store.LogInquiry), Store: st, Signer: signer, VRF: vrf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := com.Advance(ctx); err != nil {
		t.Fatal(err)
	}

	verify := func() (string, error) { return runCLI(ctx, "log", "verify", "--dir", n.dir, "--log", "inquiry") }
	out, err := verify()
	if err != nil || !strings.Contains(out, "subject map: ok: revision 9, 4 subjects") || !strings.Contains(out, "root matches: true") {
		t.Fatalf("log verify on an intact map: %v\n%s", err, out)
	}

	// A leaf's chain head changed in the database.
	conn, err := pgx.Connect(ctx, n.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, `UPDATE subject_map_nodes SET node = overlay(node placing '\xff'::bytea from 50)
		WHERE (id, rev) = (SELECT id, rev FROM subject_map_nodes WHERE length(node) = 73 ORDER BY id LIMIT 1)`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("tampering: %v %v", tag, err)
	}
	out, err = verify()
	wantExit(t, "log verify after an edit of the map", err, 1, out)
	wantOutput(t, out, "inquiry log: ok", "subject map: TAMPERED", "stored child hashes differ", "is not in the map")
}
