package node_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/witness"
)

// witnessEveryTick makes every node of the network poll its peers every
// second and commit its subject map every 100 ms.
func witnessEveryTick(t *testing.T) func(*devnet.Network) {
	return func(n *devnet.Network) {
		for _, s := range n.Specs {
			dir := n.NodeDir(s.ID)
			cfg, err := config.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Witness.PollInterval = config.Duration(time.Second)
			cfg.Witness.CommitInterval = config.Duration(100 * time.Millisecond)
			if err := cfg.Save(dir); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// steadyLoad has bank-a query tax-dept about the enrolled subject every
// 150 ms until ctx ends or max queries were sent, counting the answers in
// answered; wait waits for it to end.
func steadyLoad(ctx context.Context, t *testing.T, f *fed, max int, answered *atomic.Int64) (wait func()) {
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, max)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for range max {
			if _, err := f.bank().Query(ctx, f.loanQuery(tok)); err != nil {
				if ctx.Err() == nil {
					t.Errorf("query under load: %v", err)
				}
				return
			}
			answered.Add(1)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return wg.Wait
}

// TestWitnessedVerificationUnderLoad: while tax-dept answers queries
// several times a second (a new subject checkpoint every commit, ten times
// per witness poll), the subject reading its log at any moment gets a
// proof anchored at a checkpoint both other members cosigned (the
// witnesses follow each other): its verification requiring two witnesses
// succeeds every time, over several poll intervals. The kept revisions
// stay bounded.
func TestWitnessedVerificationUnderLoad(t *testing.T) {
	f := startFed(t, witnessEveryTick(t))
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var answered atomic.Int64
	wait := steadyLoad(ctx, t, f, 400, &answered)

	reg := f.nodes["bank-a"].Registry.Current()
	members := witness.RegistryMembers{Current: func() *registry.Registry { return reg }}
	sc := f.subjectClient(t, f.subj)
	verify := func() (*subjectlog.Result, error) {
		log, _, err := sc.InquiriesSigned(ctx, f.publicURL("tax-dept"), "tax-dept")
		if err != nil {
			t.Fatal(err)
		}
		return witness.VerifySubjectLog(log, members, 2)
	}
	// The first cosignatures are collected within a few poll rounds.
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if _, err = verify(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no witnessed verification under load: %v", err)
	}
	// From then on, every read verifies: twelve reads over six poll
	// intervals, while the queries go on.
	start, before := f.logSize(t, "tax-dept"), answered.Load()
	var sizes []uint64
	for i := range 12 {
		time.Sleep(500 * time.Millisecond)
		res, err := verify()
		if err != nil {
			t.Fatalf("read %d under load: %v", i, err)
		}
		sizes = append(sizes, res.Checkpoint.Size)
	}
	grown, during := f.logSize(t, "tax-dept")-start, answered.Load()-before
	stop()
	wait()
	if during < 12 {
		t.Fatalf("%d queries answered during the reads: no steady load", during)
	}

	revs, err := f.nodes["tax-dept"].Store.SubjectMapRevisions(t.Context(), 10*subjectlog.DefaultMaxRevisions)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) > subjectlog.DefaultMaxRevisions {
		t.Fatalf("%d revisions kept, bound %d", len(revs), subjectlog.DefaultMaxRevisions)
	}
	db, err := sql.Open("sqlite", filepath.Join(f.net.NodeDir("tax-dept"), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := map[string]int{}
	for _, table := range []string{"subject_map_revisions", "subject_map_nodes", "subject_map_stale", "subject_map_cosignatures"} {
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		rows[table] = n
	}
	t.Logf("%d queries answered (%d during the reads, the log growing by %d); checkpoint sizes verified against %v; kept %d revisions (%d to %d); rows %v",
		answered.Load(), during, grown, sizes, len(revs), revs[0].Rev, revs[len(revs)-1].Rev, rows)
}
