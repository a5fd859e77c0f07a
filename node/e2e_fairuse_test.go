package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

// TestFairUseLimits (threats.md item 17, fair use): guarantee_review allows
// a consent of at most 180 days and 6 uses, and 5 allowed queries by one
// requester about one subject per 30 days, counted from the inquiry log.
func TestFairUseLimits(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	cats := []string{"tax_payment"}
	query := func(tok string) peer.Query {
		return peer.Query{Provider: "tax-dept", Subject: f.smes[0].USCC, Purpose: "guarantee_review", Categories: cats, Consent: tok}
	}
	grant := func(validity time.Duration, uses int) string {
		tok, _, err := devnet.GrantConsent(f.subj, "bank-a", "guarantee_review", cats, []string{"tax-dept"}, validity, uses)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	_, err := f.bank().Query(ctx, query(grant(time.Hour, 7)))
	if c := codeOf(t, err); c != schemas.CodeConsentUsesExceeded {
		t.Fatalf("7 uses: %s, want consent_uses_exceeded", c)
	}
	_, err = f.bank().Query(ctx, query(grant(181*24*time.Hour, 1)))
	if c := codeOf(t, err); c != schemas.CodeConsentValidityExceeded {
		t.Fatalf("181 days: %s, want consent_validity_exceeded", c)
	}

	tok := grant(time.Hour, 6) // at the uses limit: accepted
	for i := range 5 {
		if _, err := f.bank().Query(ctx, query(tok)); err != nil {
			t.Fatalf("query %d of 5: %v", i+1, err)
		}
	}
	_, err = f.bank().Query(ctx, query(tok))
	if c := codeOf(t, err); c != schemas.CodeQueryLimitExceeded {
		t.Fatalf("6th query in the period: %s, want query_limit_exceeded", c)
	}
}
