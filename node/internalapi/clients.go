package internalapi

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/node/atomicfile"
	"github.com/creditexchange/node/schemas"
)

// Dir is the folder of a node directory holding the internal API's operator
// CA, its server certificate, the client registry and idempotency records.
const Dir = "internal"

// File names inside Dir.
const (
	ClientsFile    = "clients.json"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
	RefKeyFile     = "ref-digest.key"
	idempotencyDir = "idempotency"
)

// Operations a client may be allowed. Each internal route belongs to one.
const (
	OpQuery        = "query"         // query a provider
	OpConsentCheck = "consent_check" // check a consent token before use
	OpReport       = "report"        // build and verify credit reports
	OpDiscover     = "discover"      // ask a provider which categories are open
	OpCatalog      = "catalog"       // list peers' catalogues
	OpAudit        = "audit"         // search the outbound log
	OpLists        = "lists"         // joint punishment check
	OpImport       = "import"        // records import for a provider's data platform, and its job status
	OpFeeds        = "feeds"         // pull a provider's change feed, and its job status
	OpGrade        = "grade"         // credit grade of a subject for supervision
	OpJoint        = "joint"         // joint modelling jobs this node runs as the guest: run, models, score, status, cancel
)

// Operations is every operation, in a stable order.
var operations = []string{OpQuery, OpConsentCheck, OpReport, OpDiscover, OpCatalog, OpAudit, OpLists, OpImport, OpFeeds, OpGrade, OpJoint}

// Operations lists every operation a client may be allowed.
func Operations() []string { return slices.Clone(operations) }

// Errors of the client registry.
var (
	ErrClientExists   = errors.New("internalapi: a client with that name or certificate is registered")
	ErrClientMissing  = errors.New("internalapi: no such client")
	ErrFederationCert = errors.New("internalapi: the certificate is a federation member's (issued by the federation CA); internal clients need their own")
)

// Client is one of the organisation's own systems allowed to call the
// internal API, identified by the SHA-256 fingerprint of its TLS client
// certificate. Providers empty means any provider.
type Client struct {
	Name        string     `json:"name"`
	Fingerprint string     `json:"fingerprint"`
	Operations  []string   `json:"operations"`
	Purposes    []string   `json:"purposes"`
	Providers   []string   `json:"providers,omitempty"`
	Added       time.Time  `json:"added"`
	Revoked     *time.Time `json:"revoked,omitempty"`
}

// Allows reports whether the client may run op.
func (c *Client) Allows(op string) bool { return slices.Contains(c.Operations, op) }

// AllowsPurpose reports whether the client may act for purpose.
func (c *Client) AllowsPurpose(p string) bool { return slices.Contains(c.Purposes, p) }

// AllowsProvider reports whether the client may address provider.
func (c *Client) AllowsProvider(p string) bool {
	return len(c.Providers) == 0 || slices.Contains(c.Providers, p)
}

type clientsFile struct {
	Clients []Client `json:"clients"`
}

// Registry is the durable list of internal clients: a JSON file in the node
// directory, replaced atomically by the operator's commands and re-read by
// the running node when it changes, so a revocation takes effect on the next
// request without a restart.
type Registry struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	clients []Client
}

// OpenRegistry opens the registry of the node directory dir. A missing file
// is an empty registry.
func OpenRegistry(dir string) *Registry {
	return &Registry{path: filepath.Join(dir, Dir, ClientsFile)}
}

// load re-reads the file if it changed since the last read. Callers hold mu.
func (r *Registry) load() error {
	fi, err := os.Stat(r.path)
	if errors.Is(err, os.ErrNotExist) {
		r.clients, r.modTime, r.size = nil, time.Time{}, 0
		return nil
	}
	if err != nil {
		return err
	}
	if fi.ModTime().Equal(r.modTime) && fi.Size() == r.size && r.clients != nil {
		return nil
	}
	b, err := os.ReadFile(r.path)
	if err != nil {
		return err
	}
	var f clientsFile
	if err := schemas.DecodeStrict(b, &f); err != nil {
		return fmt.Errorf("internalapi: %s: %w", r.path, err)
	}
	if f.Clients == nil {
		f.Clients = []Client{}
	}
	r.clients, r.modTime, r.size = f.Clients, fi.ModTime(), fi.Size()
	return nil
}

// List returns every client, revoked ones included, in name order.
func (r *Registry) List() ([]Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return nil, err
	}
	out := slices.Clone(r.clients)
	slices.SortFunc(out, func(a, b Client) int { return compareStrings(a.Name, b.Name) })
	return out, nil
}

// ByFingerprint finds the client holding the certificate with fingerprint fp.
func (r *Registry) ByFingerprint(fp string) (Client, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return Client{}, false, err
	}
	for _, c := range r.clients {
		if c.Fingerprint == fp {
			return c, true, nil
		}
	}
	return Client{}, false, nil
}

// Add registers c. Names and fingerprints are unique, revoked clients
// included (a revoked certificate never comes back).
func (r *Registry) Add(c Client) error {
	if err := checkClient(&c); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return err
	}
	for _, o := range r.clients {
		if o.Name == c.Name || o.Fingerprint == c.Fingerprint {
			return ErrClientExists
		}
	}
	return r.save(append(slices.Clone(r.clients), c))
}

// Revoke marks the client named name revoked at now.
func (r *Registry) Revoke(name string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return err
	}
	cs := slices.Clone(r.clients)
	for i := range cs {
		if cs[i].Name == name {
			if cs[i].Revoked == nil {
				t := now.UTC()
				cs[i].Revoked = &t
			}
			return r.save(cs)
		}
	}
	return ErrClientMissing
}

// save writes cs atomically (temporary file, fsync, rename).
func (r *Registry) save(cs []Client) error {
	b, err := json.MarshalIndent(clientsFile{Clients: cs}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(r.path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	r.modTime = time.Time{} // force a re-read: a write within the same mtime tick must still be seen
	return r.load()
}

func checkClient(c *Client) error {
	if len(c.Fingerprint) != 64 {
		return errors.New("internalapi: client fingerprint must be a hex SHA-256")
	}
	return checkAllowList(c)
}

// checkAllowList checks a client's name and allow-lists.
func checkAllowList(c *Client) error {
	switch {
	case c.Name == "" || len(c.Name) > 64 || !validName(c.Name):
		return fmt.Errorf("internalapi: client name %q: use 1..64 lower-case letters, digits and '-'", c.Name)
	case len(c.Operations) == 0:
		return errors.New("internalapi: a client needs at least one operation")
	case len(c.Purposes) == 0:
		return errors.New("internalapi: a client needs at least one purpose")
	}
	for _, op := range c.Operations {
		if !slices.Contains(operations, op) {
			return fmt.Errorf("internalapi: unknown operation %q (known: %v)", op, operations)
		}
	}
	for _, list := range [][]string{c.Operations, c.Purposes, c.Providers} {
		if len(list) > 0 && !schemas.UniqueNames(list) {
			return errors.New("internalapi: operations, purposes and providers must be unique and non-empty")
		}
	}
	return nil
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeAtomic replaces path with data durably, creating its folder.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, mode)
}

// fingerprintOf is the registry's fingerprint of a certificate.
func fingerprintOf(c *x509.Certificate) string { return certs.Fingerprint(c.Raw) }
