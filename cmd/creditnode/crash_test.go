package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// TestCrashDuringAppends is attack 22: a provider node running as its own
// process is killed with SIGKILL while queries are being logged and
// checkpoints published, five times. After each kill: every entry the
// provider acknowledged (a receipt with a log index and leaf hash) is in the
// log at that index with that leaf hash (so none was lost and no index was
// handed out twice), and the root recomputed from the rows equals every
// signed checkpoint. After the last restart the node's checkpoint covers the
// whole log.
func TestCrashDuringAppends(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a node process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "creditnode")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	net, err := devnet.Create(filepath.Join(dir, "fed"), []devnet.Spec{
		{ID: "bank-a", Organisation: "Bank A", USCC: "91110000100000016D", Roles: []string{"bank"}},
		{ID: "tax-dept", Organisation: "Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"tax_payment": "authorised", "social_insurance": "authorised"}},
		{ID: "market-reg", Organisation: "Market Regulation", USCC: "11110000000017232M", Roles: []string{"department", "registrar"},
			Catalog: map[string]string{"registration": "public"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	smes, err := devnet.DemoSMEs(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.ImportRecords(ctx, "tax-dept", devnet.TaxRecords(smes, time.Now())); err != nil {
		t.Fatal(err)
	}
	subj, err := net.EnrolSubject("market-reg", smes[0].USCC)
	if err != nil {
		t.Fatal(err)
	}
	consentTok, _, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", []string{"tax_payment"}, []string{"tax-dept"}, time.Hour, 100000)
	if err != nil {
		t.Fatal(err)
	}
	bank, err := node.Open(ctx, net.NodeDir("bank-a"), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer bank.Close()
	q := peer.Query{Provider: "tax-dept", Subject: smes[0].USCC, Purpose: "loan_approval", Categories: []string{"tax_payment"}, Consent: consentTok}

	provDir := net.NodeDir("tax-dept")
	cfg, nk := openNodeKeys(t, ctx, provDir)
	ver, err := tlog.NewVerifier(tlog.Origin(cfg.ID, store.LogInquiry), nk.SigningPublic())
	if err != nil {
		t.Fatal(err)
	}

	acked := map[uint64][]byte{} // log index → leaf hash, over all rounds
	logFile, err := os.Create(filepath.Join(dir, "provider.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	var firstErr atomic.Value
	const rounds, workers = 5, 8
	for round := range rounds {
		proc, err := net.StartQuiet(ctx, bin, "tax-dept", logFile)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
					res, err := bank.Client.Query(qctx, q)
					qcancel()
					if err != nil {
						firstErr.CompareAndSwap(nil, err.Error())
						continue // refused or cut off by the kill: not acknowledged
					}
					h, err := hex.DecodeString(res.Response.Receipt.LeafHash)
					if err != nil {
						t.Errorf("receipt leaf hash: %v", err)
						return
					}
					mu.Lock()
					if old, dup := acked[res.Response.Receipt.LogIndex]; dup && !bytes.Equal(old, h) {
						t.Errorf("index %d acknowledged twice", res.Response.Receipt.LogIndex)
					}
					acked[res.Response.Receipt.LogIndex] = h
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(400+150*round) * time.Millisecond) // kill at a different point each round
		if err := proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		proc.Cmd.Wait()
		close(stop)
		wg.Wait()
		// Denials are acknowledged too: with the provider's log index, which
		// the bank's outbound log records.
		collectAcked(t, ctx, bank, acked)
		n := len(acked)
		rep := checkProviderLog(t, ctx, cfg.StorePath(), ver, acked)
		t.Logf("round %d: %d acknowledged in total, %d rows, latest signed checkpoint %d", round, n, rep.Rows, rep.LatestSize)
	}
	if len(acked) == 0 {
		t.Fatalf("no query was acknowledged; first error: %v", firstErr.Load())
	}
	// A clean restart integrates the tail and signs a checkpoint of it all.
	proc, err := net.StartQuiet(ctx, bin, "tax-dept", logFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	rep := checkProviderLog(t, ctx, cfg.StorePath(), ver, acked)
	if rep.LatestSize != rep.Rows || !rep.RootMatches {
		t.Fatalf("after restart: latest checkpoint %d over %d rows, root matches %t", rep.LatestSize, rep.Rows, rep.RootMatches)
	}
	// The requester's outbound log is tamper-evident too.
	if _, err := bank.Logs.Outbound.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	bankVer, err := tlog.NewVerifier(tlog.Origin("bank-a", store.LogOutbound), bank.Keys.SigningPublic())
	if err != nil {
		t.Fatal(err)
	}
	if orep, err := tlog.Audit(ctx, bank.Store.(*store.SQLite), store.LogOutbound, bankVer); err != nil || !orep.OK() || !orep.RootMatches || orep.LatestSize != orep.Rows {
		t.Fatalf("bank outbound log audit: %+v %v", orep, err)
	}
	// The operator tool agrees.
	if out, err := exec.CommandContext(ctx, bin, "log", "verify", "--dir", provDir).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("subject map: ok")) {
		t.Fatalf("creditnode log verify: %v\n%s", err, out)
	}
}

// collectAcked adds to acked every provider log index the bank's outbound
// log recorded (denials and receipts), failing if two different requests
// were acknowledged with one index.
func collectAcked(t *testing.T, ctx context.Context, bank *node.Node, acked map[uint64][]byte) {
	t.Helper()
	st := bank.Store.(*store.SQLite)
	size, err := st.OutboundLogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := st.OutboundLeaves(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	byIndex := map[uint64]string{} // provider index → request id
	for _, l := range leaves {
		var e schemas.OutboundEntry
		if err := json.Unmarshal(l.Entry, &e); err != nil {
			t.Fatal(err)
		}
		if e.ProviderLogIndex == nil {
			continue
		}
		idx := *e.ProviderLogIndex
		if other, ok := byIndex[idx]; ok && other != e.RequestID {
			t.Fatalf("provider index %d acknowledged for two requests", idx)
		}
		byIndex[idx] = e.RequestID
		if _, ok := acked[idx]; !ok || e.ProviderLeafHash != "" {
			var h []byte
			if e.ProviderLeafHash != "" {
				if h, err = hex.DecodeString(e.ProviderLeafHash); err != nil {
					t.Fatal(err)
				}
			}
			acked[idx] = h
		}
	}
}

// checkProviderLog opens the stopped provider's database and checks the
// acknowledged entries and the signed checkpoints.
func checkProviderLog(t *testing.T, ctx context.Context, path string, ver note.Verifier, acked map[uint64][]byte) *tlog.Report {
	t.Helper()
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	size, err := st.InquiryLogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for idx, h := range acked {
		if idx >= size {
			t.Fatalf("acknowledged index %d lost: log has %d entries", idx, size)
		}
		ls, err := st.InquiryLeaves(ctx, idx, idx+1)
		if err != nil {
			t.Fatal(err)
		}
		if h != nil && !bytes.Equal(ls[0].LeafHash, h) {
			t.Fatalf("index %d holds another entry than the one acknowledged (index reused)", idx)
		}
	}
	rep, err := tlog.Audit(ctx, st, store.LogInquiry, ver)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Checkpoints == 0 || (rep.LatestSize > 0 && !rep.RootMatches) {
		t.Fatalf("log audit after crash: %+v", rep)
	}
	// The subject map's newest revision was stored whole with its signed
	// subject checkpoint, whatever the kill interrupted.
	mrep, err := subjectlog.AuditMap(ctx, st, ver)
	if err != nil {
		t.Fatal(err)
	}
	if !mrep.Stored || !mrep.OK() || !mrep.RootMatches {
		t.Fatalf("subject map audit after crash: %+v", mrep)
	}
	return rep
}
