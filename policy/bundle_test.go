package policy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testAuthority(t testing.TB) (ed25519.PrivateKey, Authority) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv, Authority{KeyID: "authority-1", Key: pub}
}

// signedBundle builds and signs src, returning the tar.gz bytes.
func signedBundle(t testing.TB, src Source, rev string, key ed25519.PrivateKey, kid string) []byte {
	t.Helper()
	var unsigned, signed bytes.Buffer
	if _, err := BuildBundle(&unsigned, src, rev, 1); err != nil {
		t.Fatalf("BuildBundle: %v", err)
	}
	if err := SignBundle(&unsigned, &signed, key, kid); err != nil {
		t.Fatalf("SignBundle: %v", err)
	}
	return signed.Bytes()
}

func embeddedSource(t testing.TB) Source {
	t.Helper()
	src, err := EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestBundleRoundTrip(t *testing.T) {
	key, auth := testAuthority(t)
	src := embeddedSource(t)
	e, err := LoadBundle(context.Background(), bytes.NewReader(signedBundle(t, src, "", key, auth.KeyID)), auth)
	if err != nil {
		t.Fatalf("LoadBundle: %v", err)
	}
	// Same content, same revision as the embedded engine.
	if got, want := e.Revision(), newEngine(t).Revision(); got != want {
		t.Errorf("revision %s, want the embedded %s", got, want)
	}
	res, err := e.Decide(context.Background(), loanInput())
	if err != nil || !res.Allow {
		t.Fatalf("Decide: %+v %v", res, err)
	}
	// The bundle carries the Rego tests too, and they pass.
	var out bytes.Buffer
	passed, failed, err := e.RunTests(context.Background(), &out, false)
	if err != nil || failed != 0 || passed == 0 {
		t.Fatalf("RunTests on bundle: passed %d failed %d err %v\n%s", passed, failed, err, out.String())
	}
	// An explicit revision is carried.
	e2, err := LoadBundle(context.Background(), bytes.NewReader(signedBundle(t, src, "2026-11-22.1", key, auth.KeyID)), auth)
	if err != nil || e2.Revision() != "2026-11-22.1" {
		t.Fatalf("revision %q, err %v", e2.Revision(), err)
	}
}

// threats.md item 16: every bad bundle is refused with a sentinel error.
func TestBundleRefused(t *testing.T) {
	key, auth := testAuthority(t)
	otherKey, _ := testAuthority(t)
	src := embeddedSource(t)
	withModule := func(name, rego string) Source {
		s := Source{Modules: map[string]string{}, Data: src.Data}
		for k, v := range src.Modules {
			s.Modules[k] = v
		}
		s.Modules[name] = rego
		return s
	}
	var unsigned bytes.Buffer
	if _, err := BuildBundle(&unsigned, src, "", 1); err != nil {
		t.Fatal(err)
	}
	good := signedBundle(t, src, "", key, auth.KeyID)
	tampered := tamperData(t, good, key)

	cases := []struct {
		name   string
		bundle []byte
		want   error
	}{
		{"unsigned", unsigned.Bytes(), ErrBundle},
		{"unknown key", signedBundle(t, src, "", otherKey, auth.KeyID), ErrBundle},
		{"file changed after signing", tampered, ErrBundle},
		{"not a bundle", []byte("hello"), ErrBundle},
		{"http.send", signedBundle(t, withModule("evil.rego", "package creditnode.authz\n\nleak if http.send({\"method\": \"get\", \"url\": \"https://x\"})\n"), "", key, auth.KeyID), ErrInvalidPolicy},
		{"opa.runtime", signedBundle(t, withModule("evil.rego", "package creditnode.authz\n\nenv := opa.runtime().env\n"), "", key, auth.KeyID), ErrInvalidPolicy},
		{"with mocks a built-in", signedBundle(t, withModule("evil.rego", "package creditnode.authz\n\nmocked if count([]) == 0 with count as 1\n"), "", key, auth.KeyID), ErrInvalidPolicy},
		{"does not compile", signedBundle(t, withModule("evil.rego", "package creditnode.authz\n\nx := undefined_thing\n"), "", key, auth.KeyID), ErrInvalidPolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := LoadBundle(context.Background(), bytes.NewReader(tc.bundle), auth)
			if !errors.Is(err, tc.want) || e != nil {
				t.Fatalf("LoadBundle: engine %t, err %v; want %v", e != nil, err, tc.want)
			}
		})
	}
}

// TestBundleSerial: the manifest's serial is carried to the engine, signed
// like every file, and must be a positive integer and the only metadata.
func TestBundleSerial(t *testing.T) {
	key, auth := testAuthority(t)
	src := embeddedSource(t)
	ctx := context.Background()
	var unsigned bytes.Buffer
	if _, err := BuildBundle(&unsigned, src, "r", 7); err != nil {
		t.Fatal(err)
	}
	var signed bytes.Buffer
	if err := SignBundle(bytes.NewReader(unsigned.Bytes()), &signed, key, auth.KeyID); err != nil {
		t.Fatal(err)
	}
	e, err := LoadBundle(ctx, bytes.NewReader(signed.Bytes()), auth)
	if err != nil || e.Serial() != 7 {
		t.Fatalf("LoadBundle: serial %v, err %v; want 7", e, err)
	}
	if got := newEngine(t).Serial(); got != 0 {
		t.Errorf("embedded engine serial %d, want 0", got)
	}
	for _, serial := range []int64{0, -1} {
		if _, err := BuildBundle(io.Discard, src, "r", serial); !errors.Is(err, ErrBundle) {
			t.Errorf("BuildBundle serial %d: %v, want ErrBundle", serial, err)
		}
	}

	// withMetadata re-signs the bundle with other manifest metadata.
	withMetadata := func(md map[string]any) []byte {
		b, err := readBundle(bytes.NewReader(unsigned.Bytes()), nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Manifest.Metadata = md
		var raw, out bytes.Buffer
		if err := writeBundle(&raw, b); err != nil {
			t.Fatal(err)
		}
		if err := SignBundle(&raw, &out, key, auth.KeyID); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	// raised rewrites the serial of the signed bundle, keeping its signature.
	raised := func() []byte {
		b, err := readBundle(bytes.NewReader(signed.Bytes()), nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Manifest.Metadata = map[string]any{"serial": 8}
		var out bytes.Buffer
		if err := writeBundle(&out, b); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	for name, bundle := range map[string][]byte{
		"no serial":                    withMetadata(nil),
		"zero serial":                  withMetadata(map[string]any{"serial": 0}),
		"negative serial":              withMetadata(map[string]any{"serial": -3}),
		"fractional serial":            withMetadata(map[string]any{"serial": 1.5}),
		"serial as a string":           withMetadata(map[string]any{"serial": "9"}),
		"other metadata":               withMetadata(map[string]any{"serial": 9, "note": "x"}),
		"serial changed after signing": raised(),
	} {
		t.Run(name, func(t *testing.T) {
			if e, err := LoadBundle(ctx, bytes.NewReader(bundle), auth); !errors.Is(err, ErrBundle) || e != nil {
				t.Fatalf("LoadBundle: engine %t, err %v; want ErrBundle", e != nil, err)
			}
		})
	}
}

// tamperData rewrites a signed bundle's data.json (a purpose opened to
// every role) while keeping the old signature.
func tamperData(t *testing.T, signed []byte, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := readBundle(bytes.NewReader(signed), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.Data["creditnode"].(map[string]any)["config"].(map[string]any)
	p := cfg["purposes"].(map[string]any)["loan_approval"].(map[string]any)
	p["roles"] = []any{"bank", "bureau", "department"}
	var out bytes.Buffer
	if err := writeBundle(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestHolderReloadUnderLoad swaps between two signed revisions while
// goroutines decide: no request fails, each decision carries one of the two
// revisions, and a refused bundle leaves the previous one in force.
func TestHolderReloadUnderLoad(t *testing.T) {
	key, auth := testAuthority(t)
	src := embeddedSource(t)
	ctx := context.Background()
	load := func(rev string) *Engine {
		e, err := LoadBundle(ctx, bytes.NewReader(signedBundle(t, src, rev, key, auth.KeyID)), auth)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := load("rev-a"), load("rev-b")
	h := NewHolder(a)

	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		seen     [2]atomic.Int64
		failures atomic.Int64
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := loanInput()
			for !stop.Load() {
				res, err := h.Decide(ctx, in)
				switch {
				case err != nil || !res.Allow:
					failures.Add(1)
				case res.Revision == "rev-a":
					seen[0].Add(1)
				case res.Revision == "rev-b":
					seen[1].Add(1)
				default:
					failures.Add(1)
				}
			}
		}()
	}
	bad := signedBundle(t, Source{Modules: map[string]string{"authz.rego": "package creditnode.authz\n\ndecision := http.send({})\n"}, Data: src.Data}, "rev-evil", key, auth.KeyID)
	for i := range 200 {
		next := a
		if i%2 == 0 {
			next = b
		}
		if i%50 == 0 { // a refused bundle changes nothing
			if e, err := LoadBundle(ctx, bytes.NewReader(bad), auth); err == nil {
				h.Swap(e)
				t.Fatal("bad bundle loaded")
			}
		}
		h.Swap(next)
		for seen[0].Load()+seen[1].Load() < int64(i+1)*4 && failures.Load() == 0 {
			// let the deciders make progress on this revision
			if stop.Load() {
				break
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d failed decisions", f)
	}
	if seen[0].Load() == 0 || seen[1].Load() == 0 {
		t.Fatalf("decisions per revision: a=%d b=%d; want both", seen[0].Load(), seen[1].Load())
	}
	if h.Revision() != "rev-a" && h.Revision() != "rev-b" {
		t.Fatalf("revision in force %q", h.Revision())
	}
	t.Logf("decisions: rev-a %d, rev-b %d", seen[0].Load(), seen[1].Load())
	_ = strings.TrimSpace
}

func TestUsagePeriodFromData(t *testing.T) {
	e := newEngine(t)
	if got := e.UsagePeriod("guarantee_review"); got != 30*24*time.Hour {
		t.Errorf("guarantee_review period %v", got)
	}
	if got := e.QueryLimit("post_loan_management"); got != (QueryLimit{MaxQueries: 4, Period: 30 * 24 * time.Hour}) {
		t.Errorf("post_loan_management limit %+v", got)
	}
	if got := NewHolder(e).UsagePeriod("administrative_supervision"); got != 0 {
		t.Errorf("unlimited purpose period %v", got)
	}
}

// FuzzLoadBundle: whatever the bytes, LoadBundle returns an engine with a
// positive serial, or an error wrapping ErrBundle or ErrInvalidPolicy.
func FuzzLoadBundle(f *testing.F) {
	key, auth := testAuthority(f)
	src := embeddedSource(f)
	good := signedBundle(f, src, "r", key, auth.KeyID)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := LoadBundle(context.Background(), bytes.NewReader(b), auth)
		if err != nil {
			if e != nil || !(errors.Is(err, ErrBundle) || errors.Is(err, ErrInvalidPolicy)) {
				t.Fatalf("engine %t, err %v", e != nil, err)
			}
			return
		}
		if e.Serial() <= 0 {
			t.Fatalf("loaded with serial %d", e.Serial())
		}
	})
}
