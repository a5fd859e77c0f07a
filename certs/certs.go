// Package certs makes the development public-key infrastructure for the
// node's mutual-TLS links: a self-signed certificate authority and node
// certificates issued by it, all ECDSA P-256, using only crypto/x509.
//
// A node certificate serves both ends of a connection (ExtKeyUsage serverAuth
// and clientAuth): the same certificate identifies the node when it answers
// and when it calls. The federation registry pins each member to the SHA-256
// fingerprint of its leaf certificate (Fingerprint), so a certificate from the
// right CA but not the registered one is still refused.
//
// This is development tooling: a production federation would use its own CA
// and keep the CA key offline. The package never logs.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names written by WriteFiles and WriteNodeFiles.
const (
	CACertFile   = "ca.crt"
	CAKeyFile    = "ca.key"
	NodeCertFile = "tls.crt"
	NodeKeyFile  = "tls.key"
)

// clockSkewAllowance back-dates NotBefore so that a peer whose clock is a
// little behind still accepts a certificate issued a moment ago.
const clockSkewAllowance = 5 * time.Minute

// Errors returned by this package.
var (
	// ErrKeyFile: a private key file is missing, readable by others, or not
	// an ECDSA P-256 PKCS #8 PEM key.
	ErrKeyFile = errors.New("certs: bad key file")
	// ErrCertificate: a certificate file holds no usable certificate, or a CA
	// certificate and key do not belong together.
	ErrCertificate = errors.New("certs: bad certificate")
	// ErrName: a node id or host is not usable as a certificate name.
	ErrName = errors.New("certs: bad name")
)

// CA is a development certificate authority.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// NewCA makes a self-signed CA named name, valid from now for validity. It may
// sign only end-entity certificates (path length zero).
func NewCA(name string, validity time.Duration) (*CA, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty CA name", ErrName)
	}
	if validity <= 0 {
		return nil, errors.New("certs: validity must be positive")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore:             now.Add(-clockSkewAllowance),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, certPEM: encodeCert(der), key: key}, nil
}

// Certificate is the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM is the CA certificate in PEM form.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Pool is a certificate pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// WriteFiles writes ca.crt (mode 0644) and ca.key (mode 0600) into dir,
// refusing to overwrite either.
func (ca *CA) WriteFiles(dir string) error {
	keyPEM, err := marshalKey(ca.key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, CACertFile), ca.certPEM, 0o644); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, CAKeyFile), keyPEM, 0o600)
}

// LoadCA reads a CA written by WriteFiles. The key file must not be readable
// by group or others, and must match the certificate.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%w: %s is not a CA certificate", ErrCertificate, CACertFile)
	}
	key, err := loadKey(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("%w: CA key does not match certificate", ErrCertificate)
	}
	return &CA{cert: cert, certPEM: encodeCert(cert.Raw), key: key}, nil
}

// IssueOptions controls a node certificate. Zero fields take defaults.
type IssueOptions struct {
	// Hosts are extra DNS names or IP addresses. Empty means 127.0.0.1, ::1
	// and localhost.
	Hosts []string
	// Validity is how long the certificate lasts from now; ignored when
	// NotAfter is set.
	Validity time.Duration
	// NotBefore and NotAfter, when set, fix the validity window exactly.
	// Tests use them to make expired or not-yet-valid certificates.
	NotBefore time.Time
	NotAfter  time.Time
}

// IssueNode issues a certificate for nodeID, usable as both a TLS server and
// a TLS client certificate. Its DNS names are nodeID plus hosts (IP addresses
// become IP SANs; empty hosts means 127.0.0.1, ::1 and localhost). It returns
// the certificate and its ECDSA P-256 private key, both PEM.
func (ca *CA) IssueNode(nodeID string, hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	return ca.Issue(nodeID, IssueOptions{Hosts: hosts, Validity: validity})
}

// Issue is IssueNode with full control of the validity window.
func (ca *CA) Issue(nodeID string, opts IssueOptions) (certPEM, keyPEM []byte, err error) {
	if err := checkDNSName(nodeID); err != nil {
		return nil, nil, fmt.Errorf("%w: node id %q: %v", ErrName, nodeID, err)
	}
	notBefore, notAfter := opts.NotBefore, opts.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-clockSkewAllowance)
	}
	if notAfter.IsZero() {
		if opts.Validity <= 0 {
			return nil, nil, errors.New("certs: validity must be positive")
		}
		notAfter = time.Now().Add(opts.Validity)
	}
	if !notAfter.After(notBefore) {
		return nil, nil, errors.New("certs: NotAfter must be after NotBefore")
	}
	hosts := opts.Hosts
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	dnsNames := []string{nodeID}
	var ips []net.IP
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if err := checkDNSName(h); err != nil {
			return nil, nil, fmt.Errorf("%w: host %q: %v", ErrName, h, err)
		}
		if h != nodeID {
			dnsNames = append(dnsNames, h)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: nodeID},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create node certificate: %w", err)
	}
	keyPEM, err = marshalKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// WriteNodeFiles writes a node's tls.crt (mode 0644) and tls.key (mode 0600)
// into dir, refusing to overwrite either.
func WriteNodeFiles(dir string, certPEM, keyPEM []byte) error {
	if err := writeNew(filepath.Join(dir, NodeCertFile), certPEM, 0o644); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, NodeKeyFile), keyPEM, 0o600)
}

// Fingerprint is the lower-case hex SHA-256 of a certificate's DER bytes: the
// value the registry pins for each member.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// FingerprintPEM is the fingerprint of the first certificate in certPEM.
func FingerprintPEM(certPEM []byte) (string, error) {
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return "", err
	}
	return Fingerprint(cert.Raw), nil
}

// FingerprintFile is the fingerprint of the first certificate in a PEM file.
func FingerprintFile(certPath string) (string, error) {
	data, err := os.ReadFile(certPath)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	return FingerprintPEM(data)
}

// ParseCertificatePEM parses the first CERTIFICATE block of data.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%w: no CERTIFICATE block", ErrCertificate)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
		}
		return cert, nil
	}
}

// LoadPool reads a PEM file of CA certificates into a pool.
func LoadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%w: no certificates in %s", ErrCertificate, path)
	}
	return pool, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func marshalKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func loadKey(path string) (*ecdsa.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is readable by others (mode %v); chmod 600 it", ErrKeyFile, path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: no PRIVATE KEY block in %s", ErrKeyFile, path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: not an ECDSA P-256 key", ErrKeyFile)
	}
	return key, nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkDNSName accepts host names made of dot-separated labels of 1..63
// letters, digits and inner hyphens, at most 253 characters in all.
func checkDNSName(name string) error {
	if name == "" || len(name) > 253 {
		return errors.New("length must be 1..253")
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '.' {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("character %q not allowed", c)
			}
			continue
		}
		label := name[start:i]
		if len(label) == 0 || len(label) > 63 {
			return errors.New("each label must be 1..63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("a label may not start or end with '-'")
		}
		start = i + 1
	}
	return nil
}
