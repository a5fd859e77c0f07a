package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/creditexchange/node/certs"
)

// A development federation: one CA, one certificate per node, and the
// fingerprint that goes into the registry.
func Example() {
	ca, err := certs.NewCA("Dev Federation CA", 365*24*time.Hour)
	if err != nil {
		panic(err)
	}
	certPEM, keyPEM, err := ca.IssueNode("bank-a", nil, 90*24*time.Hour)
	if err != nil {
		panic(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	leaf := pair.Leaf
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots:     ca.Pool(),
		DNSName:   "bank-a",
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	fmt.Println("verifies:", err == nil)
	fmt.Println("names:", leaf.DNSNames, leaf.IPAddresses)
	fmt.Println("fingerprint length:", len(certs.Fingerprint(leaf.Raw)))
	// Output:
	// verifies: true
	// names: [bank-a localhost] [127.0.0.1 ::1]
	// fingerprint length: 64
}
