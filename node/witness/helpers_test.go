package witness

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// logNode is one node's inquiry log with its subject committer, on a real
// SQLite store.
type logNode struct {
	t    *testing.T
	id   string
	key  ed25519.PrivateKey
	st   *store.SQLite
	seq  *tlog.Sequencer
	tree *tlog.Tree
	com  *subjectlog.Committer
}

func newLogNode(t *testing.T, id string, key ed25519.PrivateKey, vrfSeed byte) *logNode {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	signer, err := tlog.NewSigner(tlog.Origin(id, store.LogInquiry), key)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := tlog.NewSequencer(ctx, tlog.SequencerOptions{Store: st, Log: store.LogInquiry, Signer: signer, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seq.Close() })
	var vrf *subjectlog.VRFKey
	if vrfSeed == 0 {
		vrf, err = subjectlog.DeriveVRFKey(key)
	} else {
		seed := make([]byte, 32)
		seed[0] = vrfSeed
		vrf, err = subjectlog.NewVRFKey(seed)
	}
	if err != nil {
		t.Fatal(err)
	}
	tree := tlog.NewTree(st, store.LogInquiry)
	com, err := subjectlog.NewCommitter(subjectlog.CommitterOptions{Tree: tree, Store: st, Signer: signer, VRF: vrf})
	if err != nil {
		t.Fatal(err)
	}
	return &logNode{t: t, id: id, key: key, st: st, seq: seq, tree: tree, com: com}
}

// add logs n entries for subject and commits them.
func (n *logNode) add(subject string, count int) {
	n.t.Helper()
	ctx := context.Background()
	for range count {
		l, err := inquirylog.NewLeaf(schemas.InquiryEntry{Kind: schemas.KindQuery, Requester: "bank-a", Subject: subject, Decision: schemas.DecisionAllow}, time.Now())
		if err != nil {
			n.t.Fatal(err)
		}
		if _, err := n.seq.AppendInquiry(ctx, l); err != nil {
			n.t.Fatal(err)
		}
	}
	if _, err := n.seq.Publish(ctx); err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.com.Advance(ctx); err != nil {
		n.t.Fatal(err)
	}
}

// members is a fixed registry.
type members map[string]ed25519.PublicKey

func (m members) Peers() []string {
	var out []string
	for id := range m {
		out = append(out, id)
	}
	return out
}
func (m members) SigningKeys(id string) []ed25519.PublicKey {
	if k, ok := m[id]; ok {
		return []ed25519.PublicKey{k}
	}
	return nil
}

// handlers routes Get to in-process witness handlers (the TLS layer is
// tested end to end elsewhere).
type handlers struct {
	mu sync.Mutex
	h  map[string]http.Handler
}

func (hs *handlers) Get(ctx context.Context, member, path string) ([]byte, error) {
	hs.mu.Lock()
	h, ok := hs.h[member]
	hs.mu.Unlock()
	if !ok {
		return nil, errors.New("unreachable")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		return nil, errors.New(rec.Body.String())
	}
	return rec.Body.Bytes(), nil
}

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) Inc(peer, kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[kind]++
}

func newWitness(t *testing.T, self *logNode, reg members, fetch Fetcher, alarms AlarmCounter) *Witness {
	t.Helper()
	// Alternate the two State implementations across the test's witnesses.
	var state State = StoreState{S: self.st}
	if self.id == "tax-dept" {
		fs, err := NewFileState(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		state = fs
	}
	w, err := New(Options{ID: self.id, Key: self.key, Members: reg, Fetch: fetch, State: state, Own: self.com, Alarms: alarms})
	if err != nil {
		t.Fatal(err)
	}
	return w
}
