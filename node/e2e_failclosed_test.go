package node_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/schemas"
)

// TestLockedStoreAnswersInTime: a provider whose SQLite store another
// process holds locked fails closed, and says so (log_unavailable or
// store_unavailable) before the requester's own deadline, instead of the
// requester giving up with no code. Every node's request timeout is 4s: the
// provider answers within its share of that.
func TestLockedStoreAnswersInTime(t *testing.T) {
	var dbPath string
	f := startFed(t, func(n *devnet.Network) {
		for _, s := range n.Specs {
			cfg, err := config.Load(n.NodeDir(s.ID))
			if err != nil {
				t.Fatal(err)
			}
			cfg.RequestTimeout = config.Duration(4 * time.Second)
			if err := cfg.Save(n.NodeDir(s.ID)); err != nil {
				t.Fatal(err)
			}
			if s.ID == "tax-dept" {
				dbPath = cfg.StorePath()
			}
		}
	})
	ctx := context.Background()
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 5)

	// Another process's write transaction holds the database's write lock.
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // best effort at test end

	for i := range 2 { // the second query meets a writer still stuck on the first
		_, err = f.bank().Query(ctx, f.loanQuery(tok))
		if c := codeOf(t, err); c != schemas.CodeLogUnavailable && c != schemas.CodeStoreUnavailable {
			t.Fatalf("query %d on a locked store: %s (%v), want log_unavailable or store_unavailable", i+1, c, err)
		}
	}
}
