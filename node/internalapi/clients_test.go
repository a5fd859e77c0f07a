package internalapi

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
)

func TestClientRegistryAddListRevoke(t *testing.T) {
	dir := t.TempDir()
	op := NewOperator(dir)
	c, certPEM, keyPEM, err := op.Add(AddOptions{Name: "loan-system", Operations: []string{OpQuery, OpAudit},
		Purposes: []string{"loan_approval"}})
	if err != nil {
		t.Fatal(err)
	}
	if certPEM == nil || keyPEM == nil {
		t.Fatal("no certificate issued")
	}
	fp, err := certs.FingerprintPEM(certPEM)
	if err != nil || fp != c.Fingerprint {
		t.Fatalf("fingerprint %s, registered %s (%v)", fp, c.Fingerprint, err)
	}
	// The issued certificate chains to the operator CA in the node directory.
	ca, err := certs.LoadCA(filepath.Join(dir, Dir))
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := certs.ParseCertificatePEM(certPEM)
	if err := cert.CheckSignatureFrom(ca.Certificate()); err != nil {
		t.Fatalf("client certificate not from the operator CA: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, Dir, ClientsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("clients file: %v %v", fi, err)
	}

	if _, _, _, err := op.Add(AddOptions{Name: "loan-system", Operations: []string{OpQuery}, Purposes: []string{"x"}}); !errors.Is(err, ErrClientExists) {
		t.Fatalf("second add with the same name: %v", err)
	}
	for name, bad := range map[string]AddOptions{
		"unknown operation": {Name: "a", Operations: []string{"launch"}, Purposes: []string{"loan_approval"}},
		"no purposes":       {Name: "b", Operations: []string{OpQuery}},
		"bad name":          {Name: "Loan System", Operations: []string{OpQuery}, Purposes: []string{"loan_approval"}},
		"duplicate op":      {Name: "c", Operations: []string{OpQuery, OpQuery}, Purposes: []string{"loan_approval"}},
	} {
		if _, _, _, err := op.Add(bad); err == nil {
			t.Errorf("%s: added", name)
		}
	}

	// Another reader (the running node) sees the revocation without a restart.
	running := OpenRegistry(dir)
	if got, ok, err := running.ByFingerprint(c.Fingerprint); err != nil || !ok || got.Revoked != nil {
		t.Fatalf("before revoke: %+v %v %v", got, ok, err)
	}
	if err := op.Clients.Revoke("loan-system", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := running.ByFingerprint(c.Fingerprint); err != nil || !ok || got.Revoked == nil {
		t.Fatalf("after revoke: %+v %v %v", got, ok, err)
	}
	if err := op.Clients.Revoke("nobody", time.Now()); !errors.Is(err, ErrClientMissing) {
		t.Fatalf("revoke unknown: %v", err)
	}
	list, err := running.List()
	if err != nil || len(list) != 1 || list[0].Name != "loan-system" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func TestClientRegistryRefusesFederationCertificate(t *testing.T) {
	dir := t.TempDir()
	fed, err := certs.NewCA("federation", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	memberPEM, _, err := fed.IssueNode("bank-a", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	op := NewOperator(dir)
	_, _, _, err = op.Add(AddOptions{Name: "sneaky", Operations: []string{OpQuery}, Purposes: []string{"loan_approval"},
		CertPEM: memberPEM, FederationCAs: fed.Pool()})
	if !errors.Is(err, ErrFederationCert) {
		t.Fatalf("federation member certificate registered as a client: %v", err)
	}
	// A certificate of the organisation's own PKI is registered by fingerprint.
	own, err := certs.NewCA("bank-a internal PKI", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ownPEM, _, err := own.IssueNode("data-platform", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, certPEM, _, err := op.Add(AddOptions{Name: "data-platform", Operations: []string{OpQuery}, Purposes: []string{"loan_approval"},
		CertPEM: ownPEM, FederationCAs: fed.Pool()})
	if err != nil || certPEM != nil {
		t.Fatalf("own certificate: %v (issued %v)", err, certPEM != nil)
	}
	if fp, _ := certs.FingerprintPEM(ownPEM); fp != c.Fingerprint {
		t.Fatal("registered fingerprint is not the certificate's")
	}
}

func TestClientRegistryRefusesMalformedFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, Dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, Dir, ClientsFile), []byte(`{"clients":[],"operators":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenRegistry(dir).ByFingerprint("x"); err == nil {
		t.Fatal("a registry file with an unknown member was accepted")
	}
}
