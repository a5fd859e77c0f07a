package node_test

import (
	"context"
	"strings"
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
	first := time.Now().Truncate(time.Second)
	for i := range 5 {
		if _, err := f.bank().Query(ctx, query(tok)); err != nil {
			t.Fatalf("query %d of 5: %v", i+1, err)
		}
	}
	_, err = f.bank().Query(ctx, query(tok))
	if c := codeOf(t, err); c != schemas.CodeQueryLimitExceeded {
		t.Fatalf("6th query in the period: %s, want query_limit_exceeded", c)
	}
	// The denial says the limit, the count and when a slot frees: the
	// first query's time plus the 30-day period.
	msg := err.Error()
	for _, want := range []string{"5 queries per 30 days", "5 counted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("denial %q does not say %q", msg, want)
		}
	}
	_, at, ok := strings.Cut(msg, "next slot frees at ")
	at, _, _ = strings.Cut(at, " ")
	frees, perr := time.Parse(time.RFC3339, at)
	if period := 30 * 24 * time.Hour; !ok || perr != nil || frees.Before(first.Add(period)) || frees.After(time.Now().Add(period)) {
		t.Errorf("denial %q: slot frees at %q (%v), want the first query's time + 30 days", msg, at, perr)
	}
}

// TestFairUseCountsPerPurpose: each purpose's query limit counts only the
// queries for that purpose, so guarantee_review traffic up to its limit
// leaves post_loan_management (a lower limit) its own first query.
func TestFairUseCountsPerPurpose(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	cats := []string{"tax_payment"}
	query := func(purpose string) error {
		tok, _, err := devnet.GrantConsent(f.subj, "bank-a", purpose, cats, []string{"tax-dept"}, time.Hour, 6)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.bank().Query(ctx, peer.Query{Provider: "tax-dept", Subject: f.smes[0].USCC, Purpose: purpose, Categories: cats, Consent: tok})
		return err
	}
	for i := range 5 {
		if err := query("guarantee_review"); err != nil {
			t.Fatalf("guarantee_review query %d of 5: %v", i+1, err)
		}
	}
	if err := query("post_loan_management"); err != nil {
		t.Fatalf("first post_loan_management query after 5 guarantee_review ones: %v", err)
	}
}
