package node

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/server"
)

// openRegistry loads the federation authority's key and the registry it
// signed; a node does not start without a valid registry.
func openRegistry(cfg *config.Config, logger *slog.Logger) (ed25519.PublicKey, *registry.Watcher, error) {
	authority, err := registry.LoadAuthorityPublic(cfg.Path(cfg.AuthorityKey))
	if err != nil {
		return nil, nil, fmt.Errorf("node: trust anchor: %w", err)
	}
	watcher := registry.NewWatcher(cfg.Path(cfg.Registry), authority, time.Now, logger)
	if err := watcher.Load(); err != nil {
		return nil, nil, fmt.Errorf("node: %w", err) // registry errors name the registry themselves
	}
	return authority, watcher, nil
}

// openTLS loads the node's TLS certificate and the federation CA.
func openTLS(cfg *config.Config) (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("node: TLS certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.Path(cfg.TLS.CA))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("node: TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return tls.Certificate{}, nil, errors.New("node: TLS CA file holds no certificate")
	}
	return cert, pool, nil
}

// Registries adapts the registry watcher to the provider's view.
type Registries struct{ W *registry.Watcher }

// Snapshot returns the registry in force, or an error once it has expired.
func (r Registries) Snapshot(now time.Time) (server.RegistryView, error) {
	if err := r.W.Valid(now); err != nil {
		return nil, err
	}
	return r.W.Current(), nil
}

// ClientRegistries adapts the registry watcher to the client's view.
type ClientRegistries struct{ W *registry.Watcher }

// Snapshot returns the registry in force.
func (r ClientRegistries) Snapshot(now time.Time) (peer.Registry, error) {
	if err := r.W.Valid(now); err != nil {
		return nil, err
	}
	return r.W.Current(), nil
}
