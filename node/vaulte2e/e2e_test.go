package vaulte2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/crypto/vault/vaulttest"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

var shared *vaulttest.Server

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	s, err := vaulttest.Shared(ctx, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the Vault end-to-end tests need a real Vault server: %v\n", err)
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

func specs() []devnet.Spec {
	return []devnet.Spec{
		{ID: "bank-a", Organisation: "Bank A", USCC: "91110000100000016D", Roles: []string{"bank"}},
		{ID: "tax-dept", Organisation: "Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"tax_payment": "authorised", "social_insurance": "authorised"}},
		{ID: "market-reg", Organisation: "Market Regulation", USCC: "11110000000017232M", Roles: []string{"department", "registrar"},
			Catalog: map[string]string{"registration": "public"}},
	}
}

// fed is a devnet federation whose nodes run in this process.
type fed struct {
	net     *devnet.Network
	nodes   map[string]*node.Node
	query   peer.Query
	ctx     context.Context
	cancels map[string]context.CancelFunc
	done    map[string]chan struct{}
}

// useVault moves node id's keys to Vault server s.
func useVault(t testing.TB, n *devnet.Network, s *vaulttest.Server, id string, window time.Duration) {
	t.Helper()
	dir := n.NodeDir(id)
	if err := keys.WritePrivateFile(filepath.Join(dir, "vault.token"), []byte(s.Token+"\n")); err != nil {
		t.Fatal(err)
	}
	_, err := node.UseVaultKeys(context.Background(), dir, config.Vault{
		Address: s.Addr, SigningKey: vaulttest.Name(id), EncryptionSecret: "secret/" + vaulttest.Name("creditnode/"+id),
		TokenFile: "vault.token", Timeout: config.Duration(time.Second), BatchWindow: config.Duration(window),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// startFed lays out the federation, moves vaultNodes to Vault, signs the
// registry and starts every node.
func startFed(t testing.TB, s *vaulttest.Server, window time.Duration, vaultNodes ...string) *fed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n, err := devnet.Create(t.TempDir(), specs())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range vaultNodes {
		useVault(t, n, s, id, window)
	}
	if err := n.SignRegistry(nil); err != nil { // the registry now lists the Vault keys
		t.Fatal(err)
	}
	smes, err := devnet.DemoSMEs(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.ImportRecords(ctx, "tax-dept", devnet.TaxRecords(smes, time.Now())); err != nil {
		t.Fatal(err)
	}
	f := &fed{net: n, nodes: map[string]*node.Node{}, ctx: ctx, cancels: map[string]context.CancelFunc{}, done: map[string]chan struct{}{}}
	for _, sp := range n.Specs {
		f.start(t, sp.ID)
	}
	t.Cleanup(func() {
		for id := range f.nodes {
			f.stop(id)
		}
	})
	subj, err := n.EnrolSubject("market-reg", smes[0].USCC)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", []string{"tax_payment", "social_insurance"}, []string{"tax-dept"}, time.Hour, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	f.query = peer.Query{Provider: "tax-dept", Subject: smes[0].USCC, Purpose: "loan_approval",
		Categories: []string{"tax_payment", "social_insurance"}, Consent: tok}
	return f
}

func (f *fed) start(t testing.TB, id string) {
	t.Helper()
	nd, err := node.Open(f.ctx, f.net.NodeDir(id), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open %s: %v", id, err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if err := nd.Serve(ctx, func() { close(ready) }); err != nil {
			t.Errorf("serve %s: %v", id, err)
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("node %s did not start", id)
	}
	f.nodes[id], f.cancels[id], f.done[id] = nd, cancel, done
}

func (f *fed) stop(id string) {
	f.cancels[id]()
	<-f.done[id]
	f.nodes[id].Close()
	delete(f.nodes, id)
}

func codeOf(err error) schemas.Code {
	var e *schemas.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// readyz asks the node's subject API handler for /readyz.
func readyz(nd *node.Node) (int, schemas.ErrorBody) {
	rec := httptest.NewRecorder()
	nd.Provider.PublicHandler(1<<20).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var eb schemas.ErrorBody
	json.Unmarshal(rec.Body.Bytes(), &eb)
	return rec.Code, eb
}

func TestVaultNodeAnswersAuthorisedQuery(t *testing.T) {
	f := startFed(t, shared, 0, "tax-dept", "bank-a")
	tax := f.nodes["tax-dept"]
	if _, ok := tax.Keys.Signer.(keys.VersionedSigner); !ok {
		t.Fatalf("tax-dept signs with %T, not a Vault key", tax.Keys.Signer)
	}
	res, err := f.nodes["bank-a"].Client.Query(context.Background(), f.query)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Response.Records) == 0 {
		t.Fatal("no records in the answer")
	}
	hdr, err := jose.ParseJWSHeader(res.Signed)
	if err != nil || hdr.KeyID != tax.Keys.SigningKID {
		t.Fatalf("answer kid %q, node kid %q: %v", hdr.KeyID, tax.Keys.SigningKID, err)
	}
	if code, _ := readyz(tax); code != http.StatusOK {
		t.Fatalf("readyz %d", code)
	}
}

func TestVaultSealedFailsClosedAndRecovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, err := vaulttest.Start(ctx, nil)
	if err != nil {
		t.Fatalf("this test needs its own Vault dev server: %v", err)
	}
	t.Cleanup(srv.Stop)
	f := startFed(t, srv, 0, "tax-dept")
	bank, tax := f.nodes["bank-a"], f.nodes["tax-dept"]
	if _, err := bank.Client.Query(ctx, f.query); err != nil {
		t.Fatal(err)
	}
	if err := srv.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	logBefore, err := tax.Store.InquiryLogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := bank.Client.Query(ctx, f.query)
	if codeOf(err) != schemas.CodeKeysUnavailable || res != nil {
		t.Fatalf("query while Vault is sealed: %v", err)
	}
	// The inquiry was logged before the provider tried to sign the answer.
	if logAfter, _ := tax.Store.InquiryLogSize(ctx); logAfter != logBefore+1 {
		t.Fatalf("provider inquiry log %d → %d for the failed query", logBefore, logAfter)
	}
	code, eb := readyz(tax)
	if code != http.StatusServiceUnavailable || eb.Error.Code != schemas.CodeKeysUnavailable {
		t.Fatalf("readyz while sealed: %d %+v", code, eb)
	}
	if err := srv.Unseal(ctx); err != nil {
		t.Fatal(err)
	}
	// The node recovers by itself: same process, same signer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = bank.Client.Query(ctx, f.query)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after unseal: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, eb := readyz(tax); code != http.StatusOK {
		t.Fatalf("readyz after unseal: %d %+v", code, eb)
	}
}

func TestVaultRequesterSealedSendsNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, err := vaulttest.Start(ctx, nil)
	if err != nil {
		t.Fatalf("this test needs its own Vault dev server: %v", err)
	}
	t.Cleanup(srv.Stop)
	f := startFed(t, srv, 0, "bank-a")
	if err := srv.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	provBefore, err1 := f.nodes["tax-dept"].Store.InquiryLogSize(ctx)
	outBefore, err2 := f.nodes["bank-a"].Store.OutboundLogSize(ctx)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	_, err = f.nodes["bank-a"].Client.Query(ctx, f.query)
	if codeOf(err) != schemas.CodeKeysUnavailable {
		t.Fatalf("query by a requester whose Vault is sealed: %v", err)
	}
	provAfter, _ := f.nodes["tax-dept"].Store.InquiryLogSize(ctx)
	outAfter, _ := f.nodes["bank-a"].Store.OutboundLogSize(ctx)
	if provAfter != provBefore || outAfter != outBefore {
		t.Fatalf("an unsigned query left the requester: provider log %d → %d, outbound log %d → %d", provBefore, provAfter, outBefore, outAfter)
	}
}

func TestVaultRotationPublishesNewKid(t *testing.T) {
	ctx := context.Background()
	f := startFed(t, shared, 0, "tax-dept")
	dir := f.net.NodeDir("tax-dept")
	oldKID := f.nodes["tax-dept"].Keys.SigningKID
	first, err := f.nodes["bank-a"].Client.Query(ctx, f.query)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := node.NodeTransit(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newKID := st.Versions[len(st.Versions)-1].KID
	// The running node publishes the new kid once it has refreshed (its
	// readiness check does), and keeps signing with the old one.
	if code, _ := readyz(f.nodes["tax-dept"]); code != http.StatusOK {
		t.Fatalf("readyz %d", code)
	}
	set := map[string]bool{}
	for _, k := range f.nodes["tax-dept"].Keys.PublicJWKS().Keys {
		set[k.KeyID] = true
	}
	if !set[oldKID] || !set[newKID] {
		t.Fatalf("JWKS %v lacks %s or %s", set, oldKID, newKID)
	}
	// registry build reads keys through the same path: both kids.
	m, err := node.MemberEntry(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keys.ParseSigningJWKS(m.SigningKeys)
	if err != nil || len(reg) != 2 || reg[newKID] == nil || reg[oldKID] == nil {
		t.Fatalf("registry entry keys %v: %v", reg, err)
	}
	if err := f.net.SignRegistry(nil); err != nil {
		t.Fatal(err)
	}
	// Restarted, the node signs with the new version; peers accept it.
	f.stop("tax-dept")
	f.start(t, "tax-dept")
	if got := f.nodes["tax-dept"].Keys.SigningKID; got != newKID {
		t.Fatalf("restarted node signs with %s, want %s", got, newKID)
	}
	waitRegistry(t, f.nodes["bank-a"], newKID)
	second, err := f.nodes["bank-a"].Client.Query(ctx, f.query)
	if codeOf(err) == schemas.CodePeerUnavailable { // a connection to the stopped process
		second, err = f.nodes["bank-a"].Client.Query(ctx, f.query)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The answer signed before rotation still verifies under the registry.
	for tok, kid := range map[string]string{string(first.Signed): oldKID, string(second.Signed): newKID} {
		if _, _, err := jose.Verify([]byte(tok), schemas.TypResponse, reg[kid]); err != nil {
			t.Fatalf("answer under %s: %v", kid, err)
		}
	}
}

// waitRegistry waits until nd's registry lists kid for tax-dept.
func waitRegistry(t *testing.T, nd *node.Node, kid string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := nd.Registry.Current().SigningKey("tax-dept", kid); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("registry never listed %s", kid)
}
