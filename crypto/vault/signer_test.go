package vault_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/crypto/vault"
)

const typ = "test+jwt"

func TestSignVerifyThroughJOSE(t *testing.T) {
	tr := newKey(t, connect(t, shared))
	s, err := vault.NewSigner(context.Background(), tr, vault.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(ed25519.PublicKey)
	if s.KeyID() != keys.SigningKID(pub) || s.Version() != 1 {
		t.Fatalf("kid %s version %d; want the thumbprint of version 1", s.KeyID(), s.Version())
	}
	tok, err := jose.Sign(s, s.KeyID(), typ, []byte(`{"hello":"vault"}`))
	if err != nil {
		t.Fatal(err)
	}
	payload, hdr, err := jose.Verify(tok, typ, pub)
	if err != nil || string(payload) != `{"hello":"vault"}` || hdr.KeyID != s.KeyID() {
		t.Fatalf("verify: %v %s %+v", err, payload, hdr)
	}
	// A flipped payload byte must not verify.
	bad := []byte(string(tok))
	bad[len(bad)/2] ^= 1
	if _, _, err := jose.Verify(bad, typ, pub); err == nil {
		t.Fatal("tampered token verified")
	}
	// Only pure Ed25519.
	if _, err := s.Sign(nil, []byte("x"), crypto.SHA256); !errors.Is(err, vault.ErrConfig) {
		t.Fatalf("SHA-256 prehash: %v", err)
	}
	// The public key in Transit is an ordinary Ed25519 key.
	sig, err := s.Sign(nil, []byte("msg"), crypto.Hash(0))
	if err != nil || !ed25519.Verify(pub, []byte("msg"), sig) {
		t.Fatalf("raw signature: %v", err)
	}
}

func TestRotationOldSignaturesKeepVerifying(t *testing.T) {
	ctx := context.Background()
	tr := newKey(t, connect(t, shared))
	old, err := vault.NewSigner(ctx, tr, vault.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oldTok, err := jose.Sign(old, old.KeyID(), typ, []byte(`{"v":1}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := tr.Rotate(ctx)
	if err != nil || st.Latest != 2 || len(st.Active()) != 2 {
		t.Fatalf("rotate: %v %+v", err, st)
	}
	// The running signer keeps signing with its pinned version 1...
	if tok, err := jose.Sign(old, old.KeyID(), typ, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	} else if _, _, err := jose.Verify(tok, typ, old.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	// ...and, once refreshed, publishes both versions.
	if err := old.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(old.PublicKeys()); n != 2 {
		t.Fatalf("published %d keys, want 2", n)
	}
	// A signer made now (a restarted node) signs with version 2.
	cur, err := vault.NewSigner(ctx, tr, vault.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version() != 2 || cur.KeyID() == old.KeyID() {
		t.Fatalf("new signer: version %d kid %s", cur.Version(), cur.KeyID())
	}
	newTok, err := jose.Sign(cur, cur.KeyID(), typ, []byte(`{"v":2}`))
	if err != nil {
		t.Fatal(err)
	}
	// The published JWKS (what the registry lists) verifies both tokens by kid.
	enc, _ := keys.Generate()
	jwks, _ := json.Marshal(keys.FromKeys(cur, enc.Encryption).PublicJWKS())
	set, err := keys.ParseSigningJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range [][]byte{oldTok, newTok} {
		hdr, err := jose.ParseJWSHeader(tok)
		if err != nil {
			t.Fatal(err)
		}
		pub, ok := set[hdr.KeyID]
		if !ok {
			t.Fatalf("kid %s not published", hdr.KeyID)
		}
		if _, _, err := jose.Verify(tok, typ, pub); err != nil {
			t.Fatal(err)
		}
	}
	// Retiring version 1: no longer published; the old signer reports it
	// cannot sign (the node turns not-ready until restarted).
	if st, err = tr.Retire(ctx, 2); err != nil || len(st.Active()) != 1 {
		t.Fatalf("retire: %v %+v", err, st)
	}
	if err := cur.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(cur.PublicKeys()); n != 1 {
		t.Fatalf("after retiring v1, published %d keys", n)
	}
	if err := old.Check(ctx); !errors.Is(err, vault.ErrKey) {
		t.Fatalf("old signer after retirement: %v", err)
	}
	if _, err := tr.Retire(ctx, 3); !errors.Is(err, vault.ErrConfig) {
		t.Fatalf("retiring the latest version: %v", err)
	}
}

// countingProxy forwards to Vault and counts the sign requests it sees.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/transit/sign/") {
			n.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestBatchSigning(t *testing.T) {
	addr, requests := countingProxy(t, shared.Addr)
	c, err := vault.Connect(context.Background(), vault.Options{Address: addr, Auth: vault.Token(shared.Token)})
	if err != nil {
		t.Fatal(err)
	}
	tr := newKey(t, c)
	s, err := vault.NewSigner(context.Background(), tr, vault.SignerOptions{BatchWindow: 20 * time.Millisecond, MaxBatch: 16})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := sha256.Sum256([]byte{byte(i)})
			sig, err := s.Sign(nil, msg[:], crypto.Hash(0))
			if err == nil && !ed25519.Verify(s.Public().(ed25519.PublicKey), msg[:], sig) {
				err = errors.New("batched signature does not verify")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// 64 signatures, at most 16 per batch: at least 4 requests, and far
	// fewer than 64.
	if got := requests.Load(); got < n/16 || got > n/4 {
		t.Fatalf("%d sign requests for %d signatures", got, n)
	}
	t.Logf("%d signatures in %d Transit requests", n, requests.Load())
}
