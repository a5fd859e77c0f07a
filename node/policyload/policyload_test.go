package policyload

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/creditexchange/node/policy"
)

func bundleBytes(t *testing.T, src policy.Source, rev string, key ed25519.PrivateKey, kid string, sign bool) []byte {
	t.Helper()
	var unsigned, signed bytes.Buffer
	if _, err := policy.BuildBundle(&unsigned, src, rev); err != nil {
		t.Fatal(err)
	}
	if !sign {
		return unsigned.Bytes()
	}
	if err := policy.SignBundle(&unsigned, &signed, key, kid); err != nil {
		t.Fatal(err)
	}
	return signed.Bytes()
}

func setup(t *testing.T) (ed25519.PrivateKey, policy.Authority, policy.Source, *policy.Holder) {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	src, err := policy.EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return key, policy.Authority{KeyID: "auth", Key: pub}, src, policy.NewHolder(e)
}

func TestDirectorySource(t *testing.T) {
	key, auth, src, h := setup(t)
	embeddedRev := h.Revision()
	dir := t.TempDir()
	l, err := New(Options{Source: dir, Authority: auth, Holder: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	write := func(b []byte) {
		if err := os.WriteFile(filepath.Join(dir, BundleFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Check(ctx); !errors.Is(err, ErrSource) {
		t.Fatalf("missing bundle: %v", err)
	}
	write(bundleBytes(t, src, "r1", key, auth.KeyID, true))
	if rev, err := l.Check(ctx); err != nil || rev != "r1" || h.Revision() != "r1" {
		t.Fatalf("r1: %q %v (in force %q)", rev, err, h.Revision())
	}
	if _, err := l.Check(ctx); !errors.Is(err, ErrUnchanged) {
		t.Fatalf("same bytes: %v", err)
	}
	// Unsigned, other key, forbidden built-in: refused, r1 stays.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	evil := policy.Source{Modules: map[string]string{}, Data: src.Data}
	for k, v := range src.Modules {
		evil.Modules[k] = v
	}
	evil.Modules["evil.rego"] = "package creditnode.authz\n\nx := opa.runtime()\n"
	for name, b := range map[string][]byte{
		"unsigned":    bundleBytes(t, src, "r2", key, auth.KeyID, false),
		"unknown key": bundleBytes(t, src, "r2", otherKey, auth.KeyID, true),
		"opa.runtime": bundleBytes(t, evil, "r2", key, auth.KeyID, true),
	} {
		write(b)
		if _, err := l.Check(ctx); err == nil || h.Revision() != "r1" {
			t.Fatalf("%s: err %v, in force %q", name, err, h.Revision())
		}
	}
	if h.Revision() == embeddedRev {
		t.Fatal("never swapped")
	}
}

func TestHTTPSSource(t *testing.T) {
	key, auth, src, h := setup(t)
	var body atomic.Pointer[[]byte]
	b := bundleBytes(t, src, "r-https", key, auth.KeyID, true)
	body.Store(&b)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(*body.Load())
	}))
	defer srv.Close()
	l, err := New(Options{Source: srv.URL + "/bundle.tar.gz", Authority: auth, Holder: h, Client: srv.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err := l.Check(context.Background()); err != nil || rev != "r-https" {
		t.Fatalf("%q %v", rev, err)
	}
	if _, err := New(Options{Source: "http://example.test/b.tar.gz", Holder: h}); !errors.Is(err, ErrSource) {
		t.Fatalf("plain http accepted: %v", err)
	}
}
