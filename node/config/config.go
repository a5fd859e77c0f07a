// Package config reads a node's YAML configuration. Loading follows one
// order: decode, fill defaults, resolve relative paths against the node
// directory, then Validate as a list of early returns.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the config file inside a node directory.
const FileName = "node.yaml"

// Sharing levels of a catalogue category.
const (
	LevelPublic     = "public"
	LevelShared     = "shared"
	LevelAuthorised = "authorised"
	LevelRestricted = "restricted"
)

// Roles a member may hold.
var knownRoles = map[string]bool{"bank": true, "bureau": true, "department": true, "registrar": true, "regulator": true}

// Config is a node's configuration.
type Config struct {
	// ID is this node's member id in the federation registry (lower-case
	// letters, digits and '-').
	ID string `yaml:"id"`
	// Organisation is the operating organisation's name, as subjects see it.
	Organisation string `yaml:"organisation"`
	// USCC is the organisation's Uniform Social Credit Code.
	USCC string `yaml:"uscc"`
	// Roles are the member's roles: bank, bureau, department, registrar,
	// regulator.
	Roles []string `yaml:"roles"`
	// Jurisdiction is the member's jurisdiction for the policy (default CN).
	Jurisdiction string `yaml:"jurisdiction"`

	// Listen is the mutual-TLS member API address.
	Listen string `yaml:"listen"`
	// PublicListen is the subject API address (server TLS only).
	PublicListen string `yaml:"public_listen"`
	// Endpoint and PublicEndpoint are the https URLs peers and subjects use,
	// as published in the registry; by default https://LISTEN.
	Endpoint string `yaml:"endpoint,omitempty"`
	// PublicEndpoint is the https URL subjects use for the public listener,
	// as published in the registry; by default https://PUBLIC_LISTEN.
	PublicEndpoint string `yaml:"public_endpoint,omitempty"`

	Registry     string `yaml:"registry"`      // signed registry file (JWS)
	AuthorityKey string `yaml:"authority_key"` // trust anchor: federation authority public JWK

	TLS  TLS  `yaml:"tls"`
	Keys Keys `yaml:"keys"`

	// Store is "sqlite:PATH" (the embedded default) or a PostgreSQL URL,
	// postgres://… or postgresql://… (see store.go).
	Store string `yaml:"store"`

	// OpsListen, if set, is a loopback address serving /metrics, /healthz
	// and /readyz over plain HTTP, for a local scraper or orchestrator.
	OpsListen string `yaml:"ops_listen,omitempty"`

	// InternalListen, if set, serves the internal API for the
	// organisation's own systems (node/internalapi): mutual TLS with client
	// certificates registered by `creditnode clients add`, never federation
	// members. Off unless set.
	InternalListen string `yaml:"internal_listen,omitempty"`

	// Catalog maps each category this node provides to its sharing level.
	Catalog map[string]string `yaml:"catalog"`

	// ClockSkew is how far a signed request's issued-at may be from this
	// node's clock, either way (clock_skew is refused beyond it).
	ClockSkew Duration `yaml:"clock_skew"`
	// RequestTimeout bounds a request this node sends to a peer.
	RequestTimeout Duration `yaml:"request_timeout"`
	// RegistryPoll is how often the registry file is checked for a newer
	// signed registry.
	RegistryPoll Duration `yaml:"registry_poll"`
	// MaxBodyBytes bounds every request body on every listener
	// (body_too_large beyond it).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`

	// FreeReportsPerYear is how many reports a subject gets free per
	// calendar year (art. 17: 2, the default). Reading one's own inquiry
	// log is not a report and spends none (see SubjectReads).
	FreeReportsPerYear int `yaml:"free_reports_per_year,omitempty"`

	// SubjectReads limits each subject's reads of its own inquiry log, once
	// its signature verified: a token bucket per subject refilled at
	// PerHour (default 30) holding Burst (default 10), kept in memory. Over
	// it the read is refused rate_limited (429) and the refusal logged. A
	// read is a walk over the log's pages: its first page takes a token,
	// its following pages draw on a second bucket per subject 50 times as
	// large and as fast (50 pages of 1,000 entries per read).
	SubjectReads SubjectReadLimit `yaml:"subject_reads,omitempty"`

	// PublicRate limits requests to the public (subject) API per client IP
	// address (per /64 for IPv6), before any signature check or log append:
	// a token bucket refilled at PerSecond (default 5) holding Burst
	// (default 20). Over it the answer is rate_limited (429).
	PublicRate RateLimit `yaml:"public_rate,omitempty"`

	// Policy, if Bundle is set, loads a signed policy bundle in place of
	// the embedded policy (see package node/policyload).
	Policy PolicySource `yaml:"policy,omitempty"`

	// Log tunes the tamper-evident logs (see LogConfig).
	Log LogConfig `yaml:"log,omitempty"`

	// Witness tunes the subject commitments and witnessing (see WitnessConfig).
	Witness WitnessConfig `yaml:"witness,omitempty"`

	// Runtime tunes the Go runtime of `creditnode serve` (see Runtime).
	Runtime Runtime `yaml:"runtime,omitempty"`

	// Portal serves the subject portal on the public listener (see Portal).
	Portal Portal `yaml:"portal,omitempty"`

	// Dir is the node directory the config was loaded from (not in YAML).
	Dir string `yaml:"-"`
	// FromEnv names the environment variables that overrode the file's
	// values (not in YAML).
	FromEnv []string `yaml:"-"`
}

// Portal is the subject portal (package node/portal): with Enabled, the
// public listener serves it under /portal/. Witnesses is how many witness
// cosignatures the page requires of each provider's checkpoint (as
// `subject inquiries --witnesses`; default 0).
type Portal struct {
	// Enabled serves the subject portal at /portal/ on the public listener.
	Enabled bool `yaml:"enabled,omitempty"`
	// Witnesses is how many witness cosignatures the portal requires of each
	// provider's checkpoint, as `subject inquiries --verify --witnesses`.
	Witnesses int `yaml:"witnesses,omitempty"`
}

// PolicySource names a signed policy bundle: a file, a directory holding
// bundle.tar.gz (relative to the node directory), or an https URL, polled
// every Poll (default 30s). The serial of the newest bundle accepted is kept
// in the node directory (policyload.StateFile), so an older bundle is
// refused, also after a restart.
type PolicySource struct {
	// Bundle is the signed bundle: a file, a directory holding
	// bundle.tar.gz, or an https URL; empty: the embedded policy.
	Bundle string `yaml:"bundle,omitempty"`
	// Poll is how often the bundle is fetched again (default 30s).
	Poll Duration `yaml:"poll,omitempty"`
}

// RateLimit is a token bucket: PerSecond requests a second, Burst at once.
type RateLimit struct {
	// PerSecond is the refill rate of each client's bucket.
	PerSecond float64 `yaml:"per_second,omitempty"`
	// Burst is how many requests a client may send at once.
	Burst int `yaml:"burst,omitempty"`
}

// SubjectReadLimit is a token bucket per subject.
type SubjectReadLimit struct {
	// PerHour is the refill rate of each subject's bucket, in reads an hour
	// (a read is a walk over the log's pages; its following pages draw on
	// 50 pages per read).
	PerHour float64 `yaml:"per_hour,omitempty"`
	// Burst is how many reads (walks) a subject may make at once.
	Burst int `yaml:"burst,omitempty"`
}

// TLS names the node's certificate files.
type TLS struct {
	// CA is the federation CA's certificate (PEM) that member certificates
	// chain to.
	CA string `yaml:"ca"`
	// Cert is this node's TLS certificate (PEM), pinned in the registry.
	Cert string `yaml:"cert"`
	// Key is the TLS certificate's private key (PEM, mode 0600).
	Key string `yaml:"key"`
}

// Keys says where the node's keys live.
type Keys struct {
	Backend string `yaml:"backend"` // "file" or "vault"
	// Signing is the Ed25519 signing key file (backend file).
	Signing string `yaml:"signing"`
	// Encryption is the X25519 age identity file (backend file).
	Encryption string `yaml:"encryption"`
	Vault      *Vault `yaml:"vault,omitempty"` // backend vault (see vault.go)
}

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("config: bad duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Load reads dir/node.yaml, then lets the environment override it
// (EnvPrefix: CREDITNODE_PUBLIC_LISTEN=…), for container deployments.
func Load(dir string) (*Config, error) { return LoadEnv(dir, os.LookupEnv) }

// LoadEnv is Load with the environment read through lookup.
func LoadEnv(dir string, lookup func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %s: %w", filepath.Join(dir, FileName), err)
	}
	if err := c.applyEnv(lookup); err != nil {
		return nil, err
	}
	c.Dir = dir
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Save writes the config to dir/node.yaml.
func (c *Config) Save(dir string) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, FileName), data, 0o644)
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.Jurisdiction == "" {
		c.Jurisdiction = "CN"
	}
	if c.Keys.Backend == "" {
		c.Keys.Backend = "file"
	}
	if c.Keys.Signing == "" {
		c.Keys.Signing = "signing.key"
	}
	if c.Keys.Encryption == "" {
		c.Keys.Encryption = "encryption.agekey"
	}
	if c.Keys.Vault != nil {
		c.Keys.Vault.setDefaults(c)
	}
	if c.TLS.Cert == "" {
		c.TLS.Cert = "tls.crt"
	}
	if c.TLS.Key == "" {
		c.TLS.Key = "tls.key"
	}
	if c.Store == "" {
		c.Store = "sqlite:node.db"
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = Duration(2 * time.Minute)
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = Duration(10 * time.Second)
	}
	if c.RegistryPoll == 0 {
		c.RegistryPoll = Duration(5 * time.Second)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.FreeReportsPerYear == 0 {
		c.FreeReportsPerYear = 2
	}
	if c.PublicRate.PerSecond == 0 {
		c.PublicRate.PerSecond = 5
	}
	if c.PublicRate.Burst == 0 {
		c.PublicRate.Burst = 20
	}
	if c.SubjectReads.PerHour == 0 {
		c.SubjectReads.PerHour = 30
	}
	if c.SubjectReads.Burst == 0 {
		c.SubjectReads.Burst = 10
	}
	if c.Catalog == nil {
		c.Catalog = map[string]string{}
	}
}

// Validate checks the config, returning the first problem.
func (c *Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("config: id is required")
	case !validID(c.ID):
		return fmt.Errorf("config: id %q: use lower-case letters, digits and '-'", c.ID)
	case c.FreeReportsPerYear < 0:
		return errors.New("config: free_reports_per_year must not be negative")
	case c.Portal.Witnesses < 0:
		return errors.New("config: portal.witnesses must not be negative")
	case c.PublicRate.PerSecond < 0 || c.PublicRate.Burst < 0:
		return errors.New("config: public_rate.per_second and public_rate.burst must not be negative")
	case c.SubjectReads.PerHour < 0 || c.SubjectReads.Burst < 0:
		return errors.New("config: subject_reads.per_hour and subject_reads.burst must not be negative")
	case c.Organisation == "":
		return errors.New("config: organisation is required")
	case len(c.Roles) == 0:
		return errors.New("config: at least one role is required")
	case c.Listen == "":
		return errors.New("config: listen is required")
	case c.PublicListen == "":
		return errors.New("config: public_listen is required")
	case c.Registry == "":
		return errors.New("config: registry is required")
	case c.AuthorityKey == "":
		return errors.New("config: authority_key (the trust anchor) is required")
	case c.TLS.CA == "":
		return errors.New("config: tls.ca is required")
	case c.validateKeys() != nil:
		return c.validateKeys()
	case c.validateStore() != nil:
		return c.validateStore()
	case c.validateOps() != nil:
		return c.validateOps()
	case c.validateInternal() != nil:
		return c.validateInternal()
	case c.Runtime.validate() != nil:
		return c.Runtime.validate()
	case c.ClockSkew.D() <= 0 || c.ClockSkew.D() > time.Hour:
		return errors.New("config: clock_skew must be in (0, 1h]")
	}
	for _, r := range c.Roles {
		if !knownRoles[r] {
			return fmt.Errorf("config: unknown role %q", r)
		}
	}
	for _, a := range []string{c.Listen, c.PublicListen} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("config: listen address %q: %w", a, err)
		}
	}
	for cat, lvl := range c.Catalog {
		switch lvl {
		case LevelPublic, LevelShared, LevelAuthorised, LevelRestricted:
		default:
			return fmt.Errorf("config: catalog %s: unknown sharing level %q", cat, lvl)
		}
	}
	return nil
}

func validID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Path resolves a config path against the node directory.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// AdvertisedEndpoint is the member API URL published in the registry.
func (c *Config) AdvertisedEndpoint() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return "https://" + c.Listen
}

// AdvertisedPublicEndpoint is the subject API URL published in the registry.
func (c *Config) AdvertisedPublicEndpoint() string {
	if c.PublicEndpoint != "" {
		return c.PublicEndpoint
	}
	return "https://" + c.PublicListen
}

// StorePath is the SQLite file path.
func (c *Config) StorePath() string { return c.Path(strings.TrimPrefix(c.Store, "sqlite:")) }

// HasRole reports whether the node holds role.
func (c *Config) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// validateInternal checks internal_listen: a host:port distinct from the
// member and subject listeners.
func (c *Config) validateInternal() error {
	if c.InternalListen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.InternalListen); err != nil {
		return fmt.Errorf("config: internal_listen %q: %w", c.InternalListen, err)
	}
	if c.InternalListen == c.Listen || c.InternalListen == c.PublicListen {
		return errors.New("config: internal_listen must differ from listen and public_listen")
	}
	return nil
}
