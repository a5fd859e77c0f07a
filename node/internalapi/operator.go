package internalapi

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
)

// The operator CA issues the internal API's server certificate and its
// clients' certificates. It is the node operator's own, kept in the node
// directory's Dir folder, and never the federation CA: a member's federation
// certificate is not an internal client, and an internal client certificate
// is worthless to a peer.
const (
	operatorCAName   = "creditnode internal API operator CA"
	operatorValidity = 10 * 365 * 24 * time.Hour
	// ClientValidity is how long a client certificate from `clients add` lasts.
	ClientValidity = 2 * 365 * 24 * time.Hour
	serverValidity = 2 * 365 * 24 * time.Hour
)

// Operator is a node directory's operator CA and client registry.
type Operator struct {
	nodeDir string
	Clients *Registry
}

// NewOperator opens the internal API's files in the node directory nodeDir.
func NewOperator(nodeDir string) *Operator {
	return &Operator{nodeDir: nodeDir, Clients: OpenRegistry(nodeDir)}
}

func (o *Operator) path(name string) string { return filepath.Join(o.nodeDir, Dir, name) }

// CA loads the operator CA, creating it on first use.
func (o *Operator) CA() (*certs.CA, error) {
	dir := filepath.Join(o.nodeDir, Dir)
	if _, err := os.Stat(filepath.Join(dir, certs.CACertFile)); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		ca, err := certs.NewCA(operatorCAName, operatorValidity)
		if err != nil {
			return nil, err
		}
		if err := ca.WriteFiles(dir); err != nil {
			return nil, err
		}
	}
	return certs.LoadCA(dir)
}

// CACertPath is the operator CA certificate clients trust for the server.
func (o *Operator) CACertPath() string { return o.path(certs.CACertFile) }

// AddOptions describes a new client. With CertPEM set, that existing
// certificate is registered by its fingerprint and no key is made.
type AddOptions struct {
	Name       string
	Operations []string
	Purposes   []string
	Providers  []string
	CertPEM    []byte
	// FederationCAs, if set, is the federation's CA pool: a certificate that
	// chains to it is a member's and is refused as a client.
	FederationCAs *x509.CertPool
	Now           time.Time
}

// Add registers a client and, unless it brings its own certificate, issues
// one from the operator CA. It returns the client and the new certificate and
// key (PEM; nil when CertPEM was given).
func (o *Operator) Add(a AddOptions) (Client, []byte, []byte, error) {
	if a.Now.IsZero() {
		a.Now = time.Now()
	}
	c := Client{Name: a.Name, Operations: a.Operations, Purposes: a.Purposes, Providers: a.Providers, Added: a.Now.UTC()}
	if err := checkAllowList(&c); err != nil {
		return Client{}, nil, nil, err
	}
	var certPEM, keyPEM []byte
	if len(a.CertPEM) > 0 {
		cert, err := certs.ParseCertificatePEM(a.CertPEM)
		if err != nil {
			return Client{}, nil, nil, err
		}
		if a.FederationCAs != nil {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: a.FederationCAs, CurrentTime: a.Now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
				return Client{}, nil, nil, ErrFederationCert
			}
		}
		c.Fingerprint = fingerprintOf(cert)
	} else {
		ca, err := o.CA()
		if err != nil {
			return Client{}, nil, nil, err
		}
		certPEM, keyPEM, err = ca.Issue(a.Name, certs.IssueOptions{Hosts: []string{a.Name}, Validity: ClientValidity})
		if err != nil {
			return Client{}, nil, nil, err
		}
		if c.Fingerprint, err = certs.FingerprintPEM(certPEM); err != nil {
			return Client{}, nil, nil, err
		}
	}
	if err := o.Clients.Add(c); err != nil {
		return Client{}, nil, nil, err
	}
	return c, certPEM, keyPEM, nil
}

// ServerCertificate loads the internal listener's certificate, issuing it
// from the operator CA on first use, for the listen address's host and the
// loopback names.
func (o *Operator) ServerCertificate(listen string) (tls.Certificate, error) {
	certPath, keyPath := o.path(ServerCertFile), o.path(ServerKeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		ca, err := o.CA()
		if err != nil {
			return tls.Certificate{}, err
		}
		hosts := []string{"127.0.0.1", "::1", "localhost"}
		if h, _, err := net.SplitHostPort(listen); err == nil && h != "" && !slicesContains(hosts, h) {
			if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
				hosts = append(hosts, h)
			}
		}
		certPEM, keyPEM, err := ca.Issue("creditnode-internal", certs.IssueOptions{Hosts: hosts, Validity: serverValidity})
		if err != nil {
			return tls.Certificate{}, err
		}
		if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
			return tls.Certificate{}, err
		}
		if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
			return tls.Certificate{}, err
		}
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("internalapi: server certificate: %w", err)
	}
	return cert, nil
}

// RefKey loads the secret key of business-reference digests, creating it on
// first use. The digest a provider sees is keyed so that it cannot confirm a
// guessed application number; the organisation, holding the key and its own
// outbound log, can.
func (o *Operator) RefKey() ([]byte, error) {
	p := o.path(RefKeyFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if err := writeNewFile(p, k); err != nil {
			if errors.Is(err, os.ErrExist) {
				return o.RefKey()
			}
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("internalapi: %s: want 32 bytes", p)
	}
	return b, nil
}

// writeNewFile creates path (and its directory, mode 0700) holding data,
// mode 0600, synced; it refuses to overwrite (keys.WritePrivateFile).
func writeNewFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return keys.WritePrivateFile(path, data)
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
