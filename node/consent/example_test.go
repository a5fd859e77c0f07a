package consent_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

// A registrar certifies an enterprise's key, the enterprise grants a bank a
// consent, and the bank and the provider verify it.
func Example() {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	// The registry lists the registrar's key (here a map; in the node, the
	// signed federation registry).
	regPub, regKey, _ := ed25519.GenerateKey(rand.Reader)
	regKID := keys.SigningKID(regPub)
	reg := registry{"bureau-registrar": {roles: []string{"registrar"}, keys: map[string]ed25519.PublicKey{regKID: regPub}}}

	// The registrar certifies the enterprise's key for a year.
	subjectKey, _ := consent.GenerateSubjectKey()
	cert, err := consent.IssueSubjectCert(regKey, "bureau-registrar", regKID, "91350100M000100Y43",
		schemas.SubjectEnterprise, subjectKey.Public().(ed25519.PublicKey), 365*24*time.Hour, now)
	if err != nil {
		panic(err)
	}

	// The enterprise lets bank-a query its tax payments at dept-tax once, for 30 days.
	tok, err := consent.Grant(subjectKey, cert, schemas.ConsentClaims{
		Requester:  "bank-a",
		Providers:  []string{"dept-tax"},
		Purpose:    "loan_approval",
		Categories: []string{"tax_payment"},
		Expiry:     now.Add(30 * 24 * time.Hour).Unix(),
		MaxUses:    1,
	}, now)
	if err != nil {
		panic(err)
	}

	// The bank checks that the consent covers the query it is about to send.
	want := consent.Expectation{Requester: "bank-a", Provider: "dept-tax", Subject: "91350100M000100Y43",
		Purpose: "loan_approval", Categories: []string{"tax_payment"}}
	c, err := consent.VerifyConsent(tok, reg, want, now.Add(time.Hour), time.Minute)
	fmt.Println(c.Claims.Subject, c.Claims.Purpose, c.Claims.MaxUses, err)

	// The provider checks the parties; purpose and categories go to the policy.
	c, err = consent.VerifyConsentToken(tok, reg, now.Add(time.Hour), time.Minute)
	if err == nil {
		err = c.CheckParties(want)
	}
	fmt.Println(err, c.Claims.Categories)

	// Another bank cannot use it.
	want.Requester = "bank-b"
	_, err = consent.VerifyConsent(tok, reg, want, now.Add(time.Hour), time.Minute)
	fmt.Println(schemas.CodeOf(err))
	// Output:
	// 91350100M000100Y43 loan_approval 1 <nil>
	// <nil> [tax_payment]
	// consent_wrong_requester
}

// A subject key is stored like the node's signing key: PKCS #8 PEM.
func ExampleGenerateSubjectKey() {
	key, err := consent.GenerateSubjectKey()
	if err != nil {
		panic(err)
	}
	pemBytes, _ := keys.MarshalSigningKey(key) // then keys.WritePrivateFile(path, pemBytes)
	back, err := keys.ParseSigningKey(pemBytes)
	fmt.Println(err, back.Equal(key))
	// Output: <nil> true
}
