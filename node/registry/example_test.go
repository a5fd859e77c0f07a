package registry_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/schemas"
)

// The authority builds an entry from a node's public parts, signs the
// registry, and a node verifies it with the authority's public key.
func Example() {
	authority, _ := registry.GenerateAuthority()
	ca, _ := certs.NewCA("Dev CA", time.Hour)

	nodeKeys, _ := keys.Generate()
	jwks, _ := json.Marshal(nodeKeys.PublicJWKS())
	certPEM, _, _ := ca.IssueNode("bank-a", nil, time.Hour)
	member, err := registry.MemberFromParts(registry.MemberParts{
		ID: "bank-a", Organisation: "Bank A", USCC: "91110000100000008J", Roles: []string{registry.RoleBank},
		Jurisdiction: "CN-11", Endpoint: "https://bank-a.example:7443", Keys: jwks, CertPEM: certPEM,
	})
	if err != nil {
		panic(err)
	}

	now := time.Now()
	doc := &schemas.Registry{Federation: "dev", Serial: 1, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		Members: []schemas.Member{member}}
	tok, err := registry.Sign(doc, authority, keys.SigningKID(authority.Public().(ed25519.PublicKey)))
	if err != nil {
		panic(err)
	}

	reg, err := registry.Verify(tok, authority.Public().(ed25519.PublicKey), now)
	if err != nil {
		panic(err)
	}
	fp, _ := certs.FingerprintPEM(certPEM)
	id, _ := reg.MemberByFingerprint(fp)
	_, found := reg.SigningKey("bank-a", nodeKeys.SigningKID)
	fmt.Println(reg.Federation(), reg.Serial(), id, found)
	// Output: dev 1 bank-a true
}
