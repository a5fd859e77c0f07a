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
	"strings"
	"sync/atomic"
	"testing"

	"github.com/creditexchange/node/policy"
)

func bundleBytes(t *testing.T, src policy.Source, rev string, serial int64, key ed25519.PrivateKey, kid string, sign bool) []byte {
	t.Helper()
	var unsigned, signed bytes.Buffer
	if _, err := policy.BuildBundle(&unsigned, src, rev, serial); err != nil {
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
	l, err := New(Options{Source: dir, Authority: auth, Holder: h, State: filepath.Join(t.TempDir(), StateFile), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	write(bundleBytes(t, src, "r1", 1, key, auth.KeyID, true))
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
		"unsigned":    bundleBytes(t, src, "r2", 2, key, auth.KeyID, false),
		"unknown key": bundleBytes(t, src, "r2", 2, otherKey, auth.KeyID, true),
		"opa.runtime": bundleBytes(t, evil, "r2", 2, key, auth.KeyID, true),
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
	b := bundleBytes(t, src, "r-https", 1, key, auth.KeyID, true)
	body.Store(&b)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(*body.Load())
	}))
	defer srv.Close()
	l, err := New(Options{Source: srv.URL + "/bundle.tar.gz", Authority: auth, Holder: h, Client: srv.Client(),
		State:  filepath.Join(t.TempDir(), StateFile),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err := l.Check(context.Background()); err != nil || rev != "r-https" {
		t.Fatalf("%q %v", rev, err)
	}
	if _, err := New(Options{Source: "http://example.test/b.tar.gz", Holder: h, State: filepath.Join(t.TempDir(), StateFile)}); !errors.Is(err, ErrSource) {
		t.Fatalf("plain http accepted: %v", err)
	}
}

// TestRollbackRefused: a validly signed bundle older than the one accepted,
// or as old with other content, is refused and the newer policy stays, also
// after a restart (a new Loader on the same state file).
func TestRollbackRefused(t *testing.T) {
	key, auth, src, _ := setup(t)
	dir, stateDir := t.TempDir(), t.TempDir()
	statePath := filepath.Join(stateDir, StateFile)
	ctx := context.Background()
	write := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, BundleFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// start is a node (re)starting: a fresh holder on the embedded policy.
	start := func() (*Loader, *policy.Holder) {
		t.Helper()
		_, _, _, h := setup(t)
		l, err := New(Options{Source: dir, Authority: auth, Holder: h, State: statePath,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return l, h
	}
	other := policy.Source{Modules: map[string]string{}, Data: src.Data}
	for k, v := range src.Modules {
		other.Modules[k] = v
	}
	other.Modules["extra.rego"] = "package creditnode.extra\n\nx := 1\n"

	old := bundleBytes(t, src, "r1", 1, key, auth.KeyID, true)
	current := bundleBytes(t, src, "r5", 5, key, auth.KeyID, true)
	l, h := start()
	write(old)
	if rev, err := l.Check(ctx); err != nil || rev != "r1" {
		t.Fatalf("serial 1: %q %v", rev, err)
	}
	write(current)
	if rev, err := l.Check(ctx); err != nil || rev != "r5" {
		t.Fatalf("serial 5: %q %v", rev, err)
	}
	refused := map[string][]byte{
		"older serial":                old,
		"same serial, other content":  bundleBytes(t, other, "r5-other", 5, key, auth.KeyID, true),
		"same serial, other revision": bundleBytes(t, src, "r5b", 5, key, auth.KeyID, true),
	}
	for name, b := range refused {
		write(b)
		if _, err := l.Check(ctx); !errors.Is(err, ErrRollback) || h.Revision() != "r5" {
			t.Fatalf("%s: err %v, in force %q; want ErrRollback, r5", name, err, h.Revision())
		}
	}

	// Restart: the accepted bundle is accepted again; older ones are not.
	write(current)
	l, h = start()
	if rev, err := l.Check(ctx); err != nil || rev != "r5" {
		t.Fatalf("after restart, serial 5 again: %q %v", rev, err)
	}
	embedded := func() string { _, _, _, h := setup(t); return h.Revision() }()
	for name, b := range refused {
		l, h := start()
		write(b)
		if _, err := l.Check(ctx); !errors.Is(err, ErrRollback) || h.Revision() != embedded {
			t.Fatalf("after restart, %s: err %v, in force %q; want ErrRollback, the embedded policy", name, err, h.Revision())
		}
	}

	// A newer serial moves the state on.
	write(bundleBytes(t, src, "r6", 6, key, auth.KeyID, true))
	l, h = start()
	if rev, err := l.Check(ctx); err != nil || rev != "r6" || h.Revision() != "r6" {
		t.Fatalf("serial 6: %q %v", rev, err)
	}
	write(current)
	l, _ = start()
	if _, err := l.Check(ctx); !errors.Is(err, ErrRollback) {
		t.Fatalf("serial 5 after 6: %v", err)
	}
}

// TestStateFile: an unreadable state file stops the loader from starting,
// and a bundle whose serial cannot be recorded is not put in force.
func TestStateFile(t *testing.T) {
	key, auth, src, h := setup(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, BundleFile), bundleBytes(t, src, "r1", 1, key, auth.KeyID, true), 0o600); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, content := range map[string]string{
		"not JSON":       "serial 3",
		"zero serial":    `{"serial":0,"sha256":"` + strings.Repeat("ab", 32) + `"}`,
		"short digest":   `{"serial":3,"sha256":"abcd"}`,
		"unknown member": `{"serial":3,"sha256":"` + strings.Repeat("ab", 32) + `","x":1}`,
		"two states":     `{"serial":3,"sha256":"` + strings.Repeat("ab", 32) + `"}{}`,
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), StateFile)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := New(Options{Source: dir, Authority: auth, Holder: h, State: p, Logger: quiet}); !errors.Is(err, ErrState) {
				t.Fatalf("New: %v, want ErrState", err)
			}
		})
	}
	// The state file's directory is missing: the serial cannot be written,
	// so the bundle is refused.
	before := h.Revision()
	l, err := New(Options{Source: dir, Authority: auth, Holder: h, State: filepath.Join(dir, "gone", StateFile), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Check(context.Background()); !errors.Is(err, ErrState) || h.Revision() != before {
		t.Fatalf("Check: %v, in force %q; want ErrState and the previous policy", err, h.Revision())
	}
	if _, err := New(Options{Source: dir, Authority: auth, Holder: h, Logger: quiet}); err == nil {
		t.Fatal("New without State accepted")
	}
}

// FuzzReadState: a state file is read as a positive serial and a SHA-256
// digest, or refused with ErrState.
func FuzzReadState(f *testing.F) {
	f.Add([]byte(`{"serial":3,"sha256":"` + strings.Repeat("ab", 32) + `"}`))
	f.Add([]byte(`{"serial":-1,"sha256":""}`))
	f.Add([]byte(`{"serial":3,"sha256":"` + strings.Repeat("ab", 32) + `"}{}`))
	f.Add([]byte(``))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, StateFile)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := readState(p)
		if err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error %v, want ErrState", err)
			}
			return
		}
		if st.Serial <= 0 || len(st.SHA256) != 64 {
			t.Fatalf("accepted %+v", st)
		}
	})
}
