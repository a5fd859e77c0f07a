package policy_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/creditexchange/node/policy"
)

// A bank asks a tax department for an enterprise's registration (public) and
// tax record (authorised), holding the enterprise's consent for tax data.
// Only the fields needed for loan approval leave: not declared_revenue.
func ExampleEngine_Decide() {
	ctx := context.Background()
	engine, err := policy.New(ctx, policy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	in := policy.Input{
		Requester: policy.Requester{ID: "node-bank-a", Organisation: "Bank A", Roles: []string{policy.RoleBank}, Jurisdiction: "CN"},
		Provider:  policy.Provider{ID: "node-tax-gd", Jurisdiction: "CN"},
		Subject:   policy.Subject{ID: "91350100M000100Y43", Type: "enterprise"},
		Purpose:   "loan_approval",
		Categories: []policy.Category{
			{Name: "registration", Level: policy.LevelPublic},
			{Name: "tax_payment", Level: policy.LevelAuthorised},
		},
		Consent: policy.Consent{
			Present: true, ID: "consent-1", Requester: "node-bank-a", Purpose: "loan_approval",
			Categories: []string{"tax_payment"}, UsesLeft: 1,
		},
		Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	}
	r, err := engine.Decide(ctx, in)
	if err != nil {
		log.Fatal(err) // no decision: fail closed
	}
	fmt.Println("allow:", r.Allow, r.Reasons)
	fmt.Println("tax_payment:", r.Fields["tax_payment"])
	fmt.Println("spend consent:", r.Obligations["consume_consent"])

	in.Consent.Purpose = "guarantee_review"
	r, err = engine.Decide(ctx, in)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("allow:", r.Allow, r.Code, r.WireCode().Status())
	// Output:
	// allow: true [consent_covers level_public purpose_permitted]
	// tax_payment: [year tax_paid tax_credit_grade arrears]
	// spend consent: consent-1
	// allow: false consent_wrong_purpose 403
}
