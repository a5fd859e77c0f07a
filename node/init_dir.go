package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/uscc"
)

// InitOptions describes a new node.
type InitOptions struct {
	ID           string
	Organisation string
	USCC         string
	Roles        []string
	Jurisdiction string
	Listen       string
	PublicListen string
	Catalog      map[string]string
	// Registry, AuthorityKey and CA are paths (relative to the node
	// directory, or absolute) of the federation files the node trusts.
	Registry     string
	AuthorityKey string
	CA           string
}

// Init creates a node directory: fresh keys (mode 0600) and node.yaml. It
// refuses a directory that already holds a node.
func Init(dir string, o InitOptions) (*config.Config, error) {
	code, err := uscc.Normalize(o.USCC)
	if err != nil {
		return nil, fmt.Errorf("node: organisation USCC: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, config.FileName)); err == nil {
		return nil, fmt.Errorf("node: %s already holds a node", dir)
	}
	cfg := &config.Config{
		ID: o.ID, Organisation: o.Organisation, USCC: code, Roles: o.Roles, Jurisdiction: o.Jurisdiction,
		Listen: o.Listen, PublicListen: o.PublicListen, Catalog: o.Catalog,
		Registry: o.Registry, AuthorityKey: o.AuthorityKey, TLS: config.TLS{CA: o.CA},
		Dir: dir,
	}
	if cfg.Registry == "" {
		cfg.Registry = "registry.jws"
	}
	if cfg.AuthorityKey == "" {
		cfg.AuthorityKey = "authority.jwk"
	}
	if cfg.TLS.CA == "" {
		cfg.TLS.CA = "ca.crt"
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	if err := k.Save(dir); err != nil {
		return nil, err
	}
	if err := cfg.Save(dir); err != nil {
		return nil, err
	}
	return cfg, nil
}

// MemberEntry builds the registry entry for the node in dir from its config,
// public keys and TLS certificate, validated as the registry will check it.
func MemberEntry(dir string) (schemas.Member, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return schemas.Member{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nk, err := OpenKeys(ctx, cfg) // the same path as Open: file or Vault keys
	if err != nil {
		return schemas.Member{}, err
	}
	certPEM, err := os.ReadFile(cfg.Path(cfg.TLS.Cert))
	if err != nil {
		return schemas.Member{}, fmt.Errorf("node: TLS certificate: %w", err)
	}
	jwks, err := json.Marshal(nk.PublicJWKS())
	if err != nil {
		return schemas.Member{}, err
	}
	revoked, err := RevokedSubjectCerts(dir)
	if err != nil {
		return schemas.Member{}, err
	}
	return registry.MemberFromParts(registry.MemberParts{
		ID: cfg.ID, Organisation: cfg.Organisation, USCC: cfg.USCC, Roles: cfg.Roles, Jurisdiction: cfg.Jurisdiction,
		Endpoint: cfg.AdvertisedEndpoint(), PublicEndpoint: cfg.AdvertisedPublicEndpoint(),
		Keys: jwks, CertPEM: certPEM, RevokedSubjectCerts: revoked,
	})
}
