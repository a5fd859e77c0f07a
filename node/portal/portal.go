// Package portal is the subject portal: a web page, served by any node on
// its public (subject) listener under /portal/ when `portal: {enabled:
// true}`, where an enterprise or a person reads its inquiry log at every
// provider of the federation on one page, verified in the browser.
//
// Everything the page runs is embedded in the binary (assets/): HTML, CSS,
// the script and the verifier, which is the project's own Go verification
// code compiled to WebAssembly (cmd/portalverify, rebuilt by go generate
// into verify.wasm.gz; TestWasmIsCurrent fails when the committed build is
// stale). Nothing is
// loaded from elsewhere: the Content-Security-Policy allows the page's own
// origin, plus the public endpoints of the registry's members for fetch.
//
// The subject's key never leaves the browser: the page imports the key file
// of `creditnode subject keygen` into WebCrypto as a non-extractable key
// kept in IndexedDB, and signs each request there. The browser asks every
// provider's public listener directly (CORS, see CORS), so the node serving
// the page never sees another provider's answers; it serves only the page,
// the federation authority key and the signed registry.
package portal

import (
	"compress/gzip"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/schemas"
)

//go:generate go run ./internal/wasmbuild -o assets

// assets are the page's files; verify.wasm.gz and wasm_exec.js are generated.
//
//go:embed assets
var assets embed.FS

// Routes served under the public listener.
const (
	RoutePages    = "GET /portal/"
	RouteConfig   = "GET /portal/config.json"
	RouteRegistry = "GET /portal/registry.jws"
)

// Registry is what the portal needs of the registry in force.
type Registry interface {
	// Token is the signed registry as distributed (compact JWS).
	Token() []byte
	// Doc is the registry document.
	Doc() schemas.Registry
}

// Options are the portal's dependencies.
type Options struct {
	// AuthorityJWK is the federation authority's public JWK: the page
	// verifies the registry under it.
	AuthorityJWK []byte
	// Current returns the registry in force, nil if none is loaded.
	Current func() Registry
	// Witnesses is how many witness cosignatures the page requires of
	// each provider's checkpoint (as `subject inquiries --witnesses`).
	Witnesses int
}

// Handler serves the portal's routes.
type Handler struct {
	opts  Options
	files http.Handler
}

// New makes the portal handler; mount it at RoutePages, RouteConfig and
// RouteRegistry (Handler.Patterns).
func New(opts Options) *Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	return &Handler{opts: opts, files: http.StripPrefix("/portal/", http.FileServerFS(sub))}
}

// Patterns lists the routes New's handler serves.
func (h *Handler) Patterns() []string { return []string{RoutePages, RouteConfig, RouteRegistry} }

// ServeHTTP serves the page, its config and the registry.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", h.csp())
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	switch r.URL.Path {
	case "/portal/config.json":
		hdr.Set("Content-Type", schemas.ContentTypeJSON)
		hdr.Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(struct {
			Authority json.RawMessage `json:"authority_jwk"`
			Registry  string          `json:"registry"`
			Witnesses int             `json:"witnesses"`
		}{json.RawMessage(h.opts.AuthorityJWK), "registry.jws", h.opts.Witnesses})
	case "/portal/verify.wasm":
		h.serveWasm(w, r)
	case "/portal/registry.jws":
		reg := h.opts.Current()
		if reg == nil {
			gate.WriteError(w, r, nil, gate.Failure{Err: schemas.Errorf(schemas.CodeRegistryUnavailable, "no registry loaded")})
			return
		}
		hdr.Set("Content-Type", schemas.ContentTypeJOSE)
		hdr.Set("Cache-Control", "no-store")
		w.Write(reg.Token())
	default:
		hdr.Set("Cache-Control", "no-cache")
		h.files.ServeHTTP(w, r)
	}
}

// serveWasm serves the verifier from its embedded gzip file: as is to a
// browser that accepts gzip (every current one), decompressed otherwise.
func (h *Handler) serveWasm(w http.ResponseWriter, r *http.Request) {
	f, err := assets.Open("assets/verify.wasm.gz")
	if err != nil {
		gate.WriteError(w, r, nil, gate.Failure{Err: schemas.Wrap(schemas.CodeInternal, err, "verifier missing from the build")})
		return
	}
	defer f.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/wasm")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		hdr.Set("Content-Encoding", "gzip")
		io.Copy(w, f)
		return
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		gate.WriteError(w, r, nil, gate.Failure{Err: schemas.Wrap(schemas.CodeInternal, err, "verifier corrupt in the build")})
		return
	}
	io.Copy(w, zr)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(name) == "gzip" && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// csp allows the page's own origin and, for fetch only, the members'
// public endpoints: no CDN, no external font, no inline script.
func (h *Handler) csp() string {
	connect := append([]string{"'self'"}, currentOrigins(h.opts.Current)...)
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' 'wasm-unsafe-eval'",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src " + strings.Join(connect, " "),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// MemberOrigins are the origins (scheme://host:port) of the members'
// public endpoints, sorted, without duplicates.
func MemberOrigins(doc schemas.Registry) []string {
	var out []string
	for _, m := range doc.Members {
		if o := origin(m.PublicEndpoint); o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// currentOrigins is MemberOrigins of the registry in force, none without one.
func currentOrigins(current func() Registry) []string {
	reg := current()
	if reg == nil {
		return nil
	}
	return MemberOrigins(reg.Doc())
}

func origin(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
