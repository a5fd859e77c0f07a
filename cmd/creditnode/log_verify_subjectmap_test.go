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

	"github.com/jackc/pgx/v5"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
)

// TestLogVerifySubjectMapPostgres: `creditnode log verify` checks the
// stored subject map against the node's last signed subject checkpoint and
// the log's leaves, and names a map node changed in the database (exit 1).
func TestLogVerifySubjectMapPostgres(t *testing.T) {
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
	signer, err := tlog.NewSigner(tlog.Origin(cfg.ID, store.LogInquiry), nk.Signer)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := tlog.NewSequencer(ctx, tlog.SequencerOptions{Store: st, Log: store.LogInquiry, Signer: signer, CheckpointAfterBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		salt := make([]byte, store.SaltSize)
		rand.Read(salt)
		entry := fmt.Appendf(nil, `{"n":%d}`, i)
		l := store.Leaf{Subject: fmt.Sprintf("S%d", i%4), Time: time.Now(), Entry: entry, Salt: salt, LeafHash: inquirylog.LeafHash(salt, entry)}
		if _, err := seq.Append(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := seq.Close(); err != nil {
		t.Fatal(err)
	}
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

	verify := func() (string, error) {
		var out, errOut bytes.Buffer
		root := newRoot(&out, &errOut)
		root.SetArgs([]string{"log", "verify", "--dir", dir, "--log", "inquiry"})
		err := root.ExecuteContext(ctx)
		return out.String() + errOut.String(), err
	}
	out, err := verify()
	if err != nil || !strings.Contains(out, "subject map: ok: revision 9, 4 subjects") || !strings.Contains(out, "root matches: true") {
		t.Fatalf("log verify on an intact map: %v\n%s", err, out)
	}

	// A leaf's chain head changed in the database.
	conn, err := pgx.Connect(ctx, url)
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
	var se silentExit
	if !errors.As(err, &se) || se.ExitCode() != 1 {
		t.Fatalf("log verify after an edit of the map: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"inquiry log: ok", "subject map: TAMPERED", "stored child hashes differ", "is not in the map"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}
