package portal_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditexchange/node/node/portal"
	"github.com/creditexchange/node/schemas"
)

// fakeRegistry is a registry in force with two members.
type fakeRegistry struct{}

func (fakeRegistry) Token() []byte { return []byte("header.payload.signature") }
func (fakeRegistry) Doc() schemas.Registry {
	return schemas.Registry{Members: []schemas.Member{
		{ID: "bank-a", PublicEndpoint: "https://127.0.0.1:7444"},
		{ID: "tax-dept", PublicEndpoint: "https://tax.example:8443/"},
	}}
}

func current() portal.Registry { return fakeRegistry{} }

func serve(h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The page and its files come from the binary, under a policy that allows
// no source but the page's origin and, for fetch, the members' endpoints.
func TestPortalServesEmbeddedPageUnderStrictPolicy(t *testing.T) {
	h := portal.New(portal.Options{AuthorityJWK: []byte(`{"kty":"OKP"}`), Current: current, Witnesses: 1})
	for _, path := range []string{"/portal/", "/portal/portal.js", "/portal/verify.wasm", "/portal/wasm_exec.js", "/portal/portal.css"} {
		w := serve(h, http.MethodGet, path, nil)
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Fatalf("%s: %d", path, w.Code)
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self' https://127.0.0.1:7444 https://tax.example:8443;", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Fatalf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "*") {
			t.Fatalf("%s: CSP too loose: %q", path, csp)
		}
	}
	index := serve(h, http.MethodGet, "/portal/", nil).Body.String()
	for _, ext := range []string{"http://", "https://", "//fonts.", "cdn"} {
		if strings.Contains(index, ext) {
			t.Fatalf("the page refers to an external source (%q)", ext)
		}
	}
	var cfg struct {
		Authority json.RawMessage `json:"authority_jwk"`
		Registry  string          `json:"registry"`
		Witnesses int             `json:"witnesses"`
	}
	if err := json.Unmarshal(serve(h, http.MethodGet, "/portal/config.json", nil).Body.Bytes(), &cfg); err != nil {
		t.Fatal(err)
	}
	if string(cfg.Authority) != `{"kty":"OKP"}` || cfg.Registry != "registry.jws" || cfg.Witnesses != 1 {
		t.Fatalf("config %+v", cfg)
	}
	if b := serve(h, http.MethodGet, "/portal/registry.jws", nil).Body.String(); b != "header.payload.signature" {
		t.Fatalf("registry %q", b)
	}
	none := portal.New(portal.Options{Current: func() portal.Registry { return nil }})
	if w := serve(none, http.MethodGet, "/portal/registry.jws", nil); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "registry_unavailable") {
		t.Fatalf("without a registry: %d %s", w.Code, w.Body)
	}
}

// The verifier is served compressed to a browser that accepts gzip, and
// decompressed to a client that does not; both are the same module.
func TestVerifierServedCompressedOrNot(t *testing.T) {
	h := portal.New(portal.Options{Current: current})
	gz := serve(h, http.MethodGet, "/portal/verify.wasm", map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	if gz.Code != http.StatusOK || gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Content-Type") != "application/wasm" {
		t.Fatalf("gzip: %d %v", gz.Code, gz.Header())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for name, hdr := range map[string]map[string]string{"no header": nil, "gzip refused": {"Accept-Encoding": "gzip;q=0, identity"}} {
		plain := serve(h, http.MethodGet, "/portal/verify.wasm", hdr)
		if plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), unzipped) {
			t.Fatalf("%s: encoding %q, %d bytes of %d", name, plain.Header().Get("Content-Encoding"), plain.Body.Len(), len(unzipped))
		}
	}
	if !bytes.HasPrefix(unzipped, []byte("\x00asm")) {
		t.Fatal("not a WebAssembly module")
	}
}

// Only the members' origins may call, and only the subject routes.
func TestCORSOpensSubjectRoutesToMembersOnly(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := portal.CORS(next, current)
	pre := map[string]string{"Origin": "https://tax.example:8443", "Access-Control-Request-Method": "POST"}
	w := serve(h, http.MethodOptions, "/v1/subject/inquiries", pre)
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://tax.example:8443" ||
		w.Header().Get("Access-Control-Allow-Headers") != "Content-Type" {
		t.Fatalf("member preflight: %d %v", w.Code, w.Header())
	}
	w = serve(h, http.MethodPost, "/v1/consent/revoke", map[string]string{"Origin": "https://127.0.0.1:7444"})
	if w.Code != http.StatusTeapot || w.Header().Get("Access-Control-Allow-Origin") != "https://127.0.0.1:7444" {
		t.Fatalf("member request: %d %v", w.Code, w.Header())
	}
	// The credit report is a subject route too: the page asks for it cross-origin.
	w = serve(h, http.MethodOptions, "/v1/subject/report", pre)
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://tax.example:8443" ||
		w.Header().Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("member preflight of the report: %d %v", w.Code, w.Header())
	}
	for name, c := range map[string]struct {
		method, path, origin string
	}{
		"stranger preflight":       {http.MethodOptions, "/v1/subject/inquiries", "https://evil.example"},
		"stranger request":         {http.MethodPost, "/v1/subject/inquiries", "https://evil.example"},
		"stranger report":          {http.MethodPost, "/v1/subject/report", "https://evil.example"},
		"scheme differs":           {http.MethodPost, "/v1/subject/inquiries", "http://127.0.0.1:7444"},
		"not a subject route":      {http.MethodOptions, "/v1/query", "https://127.0.0.1:7444"},
		"checkpoint is not opened": {http.MethodGet, "/.well-known/checkpoint", "https://127.0.0.1:7444"},
	} {
		w := serve(h, c.method, c.path, map[string]string{"Origin": c.origin, "Access-Control-Request-Method": "POST"})
		if w.Code != http.StatusTeapot || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: %d %v", name, w.Code, w.Header())
		}
	}
}

// The committed verifier is what `go generate` builds from the sources
// now: a stale verify.wasm would check other rules than the command line.
func TestWasmIsCurrent(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/wasmbuild", "-o", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wasmbuild: %v\n%s", err, out)
	}
	for _, f := range []string{"verify.wasm.gz", "wasm_exec.js"} {
		built, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("assets", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(built, committed) {
			t.Errorf("assets/%s is stale: run go generate ./node/portal", f)
		}
	}
}
