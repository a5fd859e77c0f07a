package certs

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("Test Federation CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t *testing.T, ca *CA, id string, opts IssueOptions) *x509.Certificate {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(id, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("certificate and key do not pair: %v", err)
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCAProperties(t *testing.T) {
	ca := newCA(t)
	c := ca.Certificate()
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA=%v MaxPathLen=%d zero=%v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("CA cannot sign certificates")
	}
	if _, ok := c.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("CA key is %T, want ECDSA", c.PublicKey)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
}

func TestIssueNodeChainVerifies(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.IssueNode("bank-a", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	leaf, err := ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "bank-a", KeyUsages: []x509.ExtKeyUsage{usage}})
		if err != nil {
			t.Errorf("verify for usage %v: %v", usage, err)
		}
	}
	other := newCA(t)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: other.Pool()}); err == nil {
		t.Error("leaf verified against an unrelated CA")
	}
	if leaf.IsCA {
		t.Error("node certificate is a CA")
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage = %v, want digitalSignature only", leaf.KeyUsage)
	}
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("node key is %T, want ECDSA", leaf.PublicKey)
	}
}

func TestIssueSANs(t *testing.T) {
	ca := newCA(t)
	t.Run("default", func(t *testing.T) {
		leaf := issue(t, ca, "bank-a", IssueOptions{Validity: time.Hour})
		if !slices.Equal(leaf.DNSNames, []string{"bank-a", "localhost"}) {
			t.Errorf("DNSNames = %v", leaf.DNSNames)
		}
		want := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
		if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(want[0]) || !leaf.IPAddresses[1].Equal(want[1]) {
			t.Errorf("IPAddresses = %v", leaf.IPAddresses)
		}
		for _, h := range []string{"bank-a", "localhost", "127.0.0.1", "::1"} {
			if err := leaf.VerifyHostname(h); err != nil {
				t.Errorf("VerifyHostname(%s): %v", h, err)
			}
		}
		if err := leaf.VerifyHostname("bank-b"); err == nil {
			t.Error("certificate valid for another node's name")
		}
	})
	t.Run("explicit", func(t *testing.T) {
		leaf := issue(t, ca, "dept-tax", IssueOptions{Hosts: []string{"tax.example.gov.cn", "10.1.2.3", "dept-tax"}, Validity: time.Hour})
		if !slices.Equal(leaf.DNSNames, []string{"dept-tax", "tax.example.gov.cn"}) {
			t.Errorf("DNSNames = %v", leaf.DNSNames)
		}
		if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.ParseIP("10.1.2.3")) {
			t.Errorf("IPAddresses = %v", leaf.IPAddresses)
		}
		if err := leaf.VerifyHostname("127.0.0.1"); err == nil {
			t.Error("explicit hosts still include the loopback default")
		}
	})
}

func TestIssueRejectsBadNames(t *testing.T) {
	ca := newCA(t)
	for _, tc := range []struct{ id, host string }{
		{"", ""},
		{"bank_a", ""},
		{"-bank", ""},
		{"bank..a", ""},
		{"../etc", ""},
		{"bank-a", "evil host"},
		{"bank-a", "*.example.com"},
	} {
		var hosts []string
		if tc.host != "" {
			hosts = []string{tc.host}
		}
		if _, _, err := ca.IssueNode(tc.id, hosts, time.Hour); !errors.Is(err, ErrName) {
			t.Errorf("IssueNode(%q, %q) error = %v, want ErrName", tc.id, tc.host, err)
		}
	}
}

func TestIssueValidityWindow(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	expired := issue(t, ca, "bank-a", IssueOptions{NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)})
	future := issue(t, ca, "bank-a", IssueOptions{NotBefore: now.Add(time.Hour), NotAfter: now.Add(2 * time.Hour)})
	for name, c := range map[string]*x509.Certificate{"expired": expired, "not yet valid": future} {
		_, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		var inv x509.CertificateInvalidError
		if !errors.As(err, &inv) || inv.Reason != x509.Expired {
			t.Errorf("%s: Verify error = %v, want x509.Expired", name, err)
		}
	}
	if _, _, err := ca.Issue("bank-a", IssueOptions{NotBefore: now, NotAfter: now}); err == nil {
		t.Error("empty validity window accepted")
	}
	if _, _, err := ca.IssueNode("bank-a", nil, 0); err == nil {
		t.Error("zero validity accepted")
	}
}

func TestFingerprint(t *testing.T) {
	ca := newCA(t)
	certPEM, _, err := ca.IssueNode("bank-a", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(leaf.Raw)
	want := hex.EncodeToString(sum[:])
	if got := Fingerprint(leaf.Raw); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	path := filepath.Join(t.TempDir(), "tls.crt")
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FingerprintFile(path)
	if err != nil || got != want {
		t.Errorf("FingerprintFile = %s, %v; want %s", got, err, want)
	}
	other, _, err := ca.IssueNode("bank-a", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if fp, _ := FingerprintPEM(other); fp == want {
		t.Error("two certificates for the same node share a fingerprint")
	}
	if _, err := FingerprintPEM([]byte("not pem")); !errors.Is(err, ErrCertificate) {
		t.Errorf("FingerprintPEM(garbage) error = %v, want ErrCertificate", err)
	}
	if _, err := FingerprintFile(filepath.Join(t.TempDir(), "missing.crt")); !errors.Is(err, ErrCertificate) {
		t.Errorf("FingerprintFile(missing) error = %v, want ErrCertificate", err)
	}
}

func TestWriteAndLoadCA(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode = %v, want 0600", st.Mode().Perm())
	}
	if err := ca.WriteFiles(dir); err == nil {
		t.Error("WriteFiles overwrote an existing CA")
	}
	loaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Certificate().Equal(ca.Certificate()) {
		t.Error("loaded CA certificate differs")
	}
	// The loaded CA issues certificates that chain to the original.
	leaf := issue(t, loaded, "bank-a", IssueOptions{Validity: time.Hour})
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool()}); err != nil {
		t.Errorf("certificate from loaded CA: %v", err)
	}
	pool, err := LoadPool(filepath.Join(dir, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("verify with LoadPool: %v", err)
	}
}

func TestLoadCARefuses(t *testing.T) {
	t.Run("key readable by others", func(t *testing.T) {
		dir := t.TempDir()
		if err := newCA(t).WriteFiles(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, CAKeyFile), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(dir); !errors.Is(err, ErrKeyFile) {
			t.Errorf("error = %v, want ErrKeyFile", err)
		}
	})
	t.Run("key of another CA", func(t *testing.T) {
		dir, otherDir := t.TempDir(), t.TempDir()
		if err := newCA(t).WriteFiles(dir); err != nil {
			t.Fatal(err)
		}
		if err := newCA(t).WriteFiles(otherDir); err != nil {
			t.Fatal(err)
		}
		key, err := os.ReadFile(filepath.Join(otherDir, CAKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, CAKeyFile), key, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(dir); !errors.Is(err, ErrCertificate) {
			t.Errorf("error = %v, want ErrCertificate", err)
		}
	})
	t.Run("leaf as CA", func(t *testing.T) {
		ca := newCA(t)
		dir := t.TempDir()
		certPEM, keyPEM, err := ca.IssueNode("bank-a", nil, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, CACertFile), certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCA(dir); !errors.Is(err, ErrCertificate) {
			t.Errorf("error = %v, want ErrCertificate", err)
		}
	})
}

func TestWriteNodeFiles(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.IssueNode("bank-a", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteNodeFiles(dir, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, NodeCertFile), filepath.Join(dir, NodeKeyFile)); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("tls.key mode = %v, want 0600", st.Mode().Perm())
	}
	if err := WriteNodeFiles(dir, certPEM, keyPEM); err == nil {
		t.Error("WriteNodeFiles overwrote existing files")
	}
}

func FuzzParseCertificatePEM(f *testing.F) {
	ca, err := NewCA("fuzz", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueNode("bank-a", nil, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certPEM)
	f.Add(append(keyPEM, certPEM...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cert, err := ParseCertificatePEM(data)
		if err != nil {
			if !errors.Is(err, ErrCertificate) {
				t.Fatalf("error %v is not ErrCertificate", err)
			}
			return
		}
		fp, err := FingerprintPEM(data)
		if err != nil || fp != Fingerprint(cert.Raw) {
			t.Fatalf("FingerprintPEM = %s, %v; want %s", fp, err, Fingerprint(cert.Raw))
		}
	})
}
