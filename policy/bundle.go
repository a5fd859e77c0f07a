package policy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// Bundles.
//
// A policy bundle is an OPA bundle (a gzipped tar of the Rego modules,
// data.json and a .manifest carrying a revision and a serial) signed with OPA's own bundle
// signature format: a .signatures.json file holding one JWT whose "files"
// claim lists the SHA-256 of every file. OPA verifies that JWT with
// lestrrat-go/jwx, which supports EdDSA, so the federation authority's
// Ed25519 key signs bundles directly (alg EdDSA, the key passed to OPA as
// PKCS #8 / PKIX PEM). OPA's configuration-file parser lists only RS/PS/ES/HS
// algorithms, but that list is not consulted when the verification config is
// built in code, as here.
//
// The serial (manifest metadata "serial", a positive integer) orders bundles
// the way a registry's serial orders registries: the authority gives each
// bundle it signs a greater one, and a node refuses a validly signed bundle
// whose serial is below the one in force (see node/policyload), so an old
// bundle cannot be replayed to roll the policy back. The manifest is one of
// the signed files, so the serial cannot be changed without the key.

// BundleRoot is the only data root a policy bundle may own.
const BundleRoot = "creditnode"

// MaxBundleSize bounds a bundle's uncompressed size.
const MaxBundleSize = 8 << 20

// serialKey is the manifest metadata member holding the bundle serial.
const serialKey = "serial"

// bundleScope is the JWT "scope" claim a policy bundle signature carries.
const bundleScope = "creditnode-policy"

// ErrBundle is returned when a bundle cannot be built, signed, read or
// verified: unsigned, signed by another key, a file's hash off, no revision,
// no serial.
// A bundle that verifies but does not compile is ErrInvalidPolicy.
var ErrBundle = errors.New("policy: bad bundle")

// Source is a policy's text: Rego modules by file name (test modules end in
// "_test.rego") and the data document as JSON.
type Source struct {
	Modules map[string]string
	Data    []byte
}

// EmbeddedSource returns the policy compiled into the binary.
func EmbeddedSource() (Source, error) {
	all, err := fs.Sub(embedded, embeddedDir)
	if err != nil {
		return Source{}, err
	}
	return sourceFS(all)
}

// DirSource reads *.rego and data.json from dir (not recursively).
func DirSource(dir string) (Source, error) {
	return sourceFS(os.DirFS(dir))
}

func sourceFS(fsys fs.FS) (Source, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return Source{}, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	src := Source{Modules: map[string]string{}}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (path.Ext(name) != ".rego" && name != dataFileName) {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return Source{}, fmt.Errorf("%w: %w", ErrBundle, err)
		}
		if name == dataFileName {
			src.Data = b
		} else {
			src.Modules[name] = string(b)
		}
	}
	if src.Data == nil {
		return Source{}, fmt.Errorf("%w: no %s", ErrBundle, dataFileName)
	}
	return src, nil
}

// Revision returns the content revision of src: the revision an engine
// compiled from it reports when no other revision is given.
func (src Source) Revision() (string, error) {
	data, err := canonicalJSON(src.Data)
	if err != nil {
		return "", fmt.Errorf("%w: data: %w", ErrBundle, err)
	}
	modules := maps.Clone(src.Modules)
	maps.DeleteFunc(modules, func(name, _ string) bool { return strings.HasSuffix(name, testSuffix) })
	return revision(modules, data), nil
}

// BuildBundle writes src as an unsigned OPA bundle (tar.gz) to w with the
// given serial, which must be positive and greater than that of every bundle
// the authority signed before. An empty revision means src.Revision(). The
// bundle owns the data root "creditnode".
func BuildBundle(w io.Writer, src Source, rev string, serial int64) (string, error) {
	if serial <= 0 {
		return "", fmt.Errorf("%w: serial must be positive, not %d", ErrBundle, serial)
	}
	if rev == "" {
		var err error
		if rev, err = src.Revision(); err != nil {
			return "", err
		}
	}
	var data map[string]any
	if err := decodeJSON(src.Data, &data); err != nil {
		return "", fmt.Errorf("%w: data: %w", ErrBundle, err)
	}
	if len(data) != 1 || data[BundleRoot] == nil {
		return "", fmt.Errorf("%w: data must have the single root %q", ErrBundle, BundleRoot)
	}
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: rev, Roots: &[]string{BundleRoot}, Metadata: map[string]any{serialKey: serial}},
		Data:     data,
	}
	for _, name := range slices.Sorted(maps.Keys(src.Modules)) {
		p := "/" + name
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: p, Path: p, Raw: []byte(src.Modules[name])})
	}
	if err := writeBundle(w, b); err != nil {
		return "", err
	}
	return rev, nil
}

// SignBundle reads an unsigned bundle from r and writes it to w with a
// .signatures.json signed by key (EdDSA) under key id kid.
func SignBundle(r io.Reader, w io.Writer, key ed25519.PrivateKey, kid string) error {
	b, err := readBundle(r, nil)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("%w: key: %w", ErrBundle, err)
	}
	sc := bundle.NewSigningConfig(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "EdDSA", "")
	claims, err := signingClaims(kid)
	if err != nil {
		return err
	}
	defer os.Remove(claims)
	sc.ClaimsPath = claims
	if err := b.GenerateSignature(sc, kid, true); err != nil {
		return fmt.Errorf("%w: sign: %w", ErrBundle, err)
	}
	return writeBundle(w, b)
}

func writeBundle(w io.Writer, b bundle.Bundle) error {
	if err := bundle.Write(w, b); err != nil {
		return fmt.Errorf("%w: write: %w", ErrBundle, err)
	}
	return nil
}

// signingClaims writes the extra JWT claims (scope) to a temporary file, the
// only way OPA's signer takes them.
func signingClaims(kid string) (string, error) {
	f, err := os.CreateTemp("", "bundle-claims-*.json")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBundle, err)
	}
	err = json.NewEncoder(f).Encode(map[string]string{"scope": bundleScope, "keyid": kid})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("%w: %w", ErrBundle, err)
	}
	return filepath.Clean(f.Name()), nil
}

// Authority is the key that signs policy bundles.
type Authority struct {
	KeyID string
	Key   ed25519.PublicKey
}

func (a Authority) verification() (*bundle.VerificationConfig, error) {
	if len(a.Key) != ed25519.PublicKeySize || a.KeyID == "" {
		return nil, fmt.Errorf("%w: no authority key", ErrBundle)
	}
	der, err := x509.MarshalPKIXPublicKey(a.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	kc := &bundle.KeyConfig{
		Key:       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		Algorithm: "EdDSA",
		Scope:     bundleScope,
	}
	// KeyID pinned: the token's own kid header cannot choose another key.
	return bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{a.KeyID: kc}, a.KeyID, bundleScope, nil), nil
}

// LoadBundle reads a signed bundle, verifies its signature against the
// authority key and every file's hash, and compiles it under the same
// capabilities allowlist and "with" ban as the embedded policy. The engine's
// revision and serial are the manifest's. Errors wrap ErrBundle (signature,
// format, no serial) or ErrInvalidPolicy (does not compile).
func LoadBundle(ctx context.Context, r io.Reader, auth Authority) (*Engine, error) {
	vc, err := auth.verification()
	if err != nil {
		return nil, err
	}
	b, err := readBundle(r, vc)
	if err != nil {
		return nil, err
	}
	if b.Manifest.Revision == "" {
		return nil, fmt.Errorf("%w: manifest has no revision", ErrBundle)
	}
	serial, err := manifestSerial(b.Manifest)
	if err != nil {
		return nil, err
	}
	if b.Manifest.Roots == nil || !slices.Equal(*b.Manifest.Roots, []string{BundleRoot}) {
		return nil, fmt.Errorf("%w: manifest roots must be [%q]", ErrBundle, BundleRoot)
	}
	if len(b.WasmModules) > 0 || len(b.PlanModules) > 0 || len(b.Wasm) > 0 {
		return nil, fmt.Errorf("%w: wasm and plan modules are not accepted", ErrBundle)
	}
	modules, tests := map[string]string{}, map[string]string{}
	for _, m := range b.Modules {
		name := strings.TrimPrefix(m.Path, "/")
		if name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("%w: module path %q not at the bundle root", ErrBundle, m.Path)
		}
		if strings.HasSuffix(name, testSuffix) {
			tests[name] = string(m.Raw)
		} else {
			modules[name] = string(m.Raw)
		}
	}
	data, err := json.Marshal(b.Data) // map keys sorted: canonical
	if err != nil {
		return nil, fmt.Errorf("%w: data: %w", ErrBundle, err)
	}
	e, err := build(ctx, modules, tests, data, b.Manifest.Revision)
	if err != nil {
		return nil, err
	}
	e.serial = serial
	return e, nil
}

// manifestSerial reads the manifest's serial: a positive integer, and the
// only metadata member a bundle may carry.
func manifestSerial(m bundle.Manifest) (int64, error) {
	for k := range m.Metadata {
		if k != serialKey {
			return 0, fmt.Errorf("%w: manifest metadata member %q not accepted", ErrBundle, k)
		}
	}
	var (
		n   int64
		err error
	)
	switch v := m.Metadata[serialKey].(type) {
	case nil:
		return 0, fmt.Errorf("%w: manifest has no serial", ErrBundle)
	case json.Number:
		n, err = v.Int64()
	default:
		err = fmt.Errorf("a %T", v)
	}
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: manifest serial must be a positive integer (%v)", ErrBundle, m.Metadata[serialKey])
	}
	return n, nil
}

// readBundle reads a tar.gz bundle; with vc non-nil the signature is
// required and verified.
func readBundle(r io.Reader, vc *bundle.VerificationConfig) (bundle.Bundle, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBundleSize+1))
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if len(raw) > MaxBundleSize {
		return bundle.Bundle{}, fmt.Errorf("%w: larger than %d bytes", ErrBundle, MaxBundleSize)
	}
	rd := bundle.NewReader(bytes.NewReader(raw)).
		WithSizeLimitBytes(MaxBundleSize).
		WithRegoVersion(ast.RegoV1).
		WithCapabilities(capabilities())
	if vc != nil {
		rd = rd.WithBundleVerificationConfig(vc)
	} else {
		rd = rd.WithSkipBundleVerification(true)
	}
	b, err := rd.Read()
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	return b, nil
}
