package policy

import (
	"context"
	"testing"
	"time"
)

// newEngine builds the embedded engine or fails the test.
func newEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// loanInput is a realistic allowed request: a bank's loan approval over three
// categories, one public and two authorised under the subject's consent.
func loanInput() Input {
	return Input{
		Requester: Requester{ID: "node-bank-a", Organisation: "Bank A", Roles: []string{RoleBank}, Jurisdiction: "CN"},
		Provider:  Provider{ID: "node-tax-gd", Jurisdiction: "CN"},
		Subject:   Subject{ID: "91350100M000100Y43", Type: "enterprise"},
		Purpose:   "loan_approval",
		Categories: []Category{
			{Name: "registration", Level: LevelPublic},
			{Name: "tax_payment", Level: LevelAuthorised},
			{Name: "social_insurance", Level: LevelAuthorised},
		},
		Consent: Consent{
			Present: true, ID: "consent-1", Requester: "node-bank-a", Purpose: "loan_approval",
			Categories: []string{"tax_payment", "social_insurance"}, UsesLeft: 3,
		},
		Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	}
}

// rawLoanInput is loanInput as a JSON-like map, for mutation tests.
func rawLoanInput() map[string]any {
	return map[string]any{
		"requester": map[string]any{"id": "node-bank-a", "organisation": "Bank A", "roles": []any{"bank"}, "jurisdiction": "CN"},
		"provider":  map[string]any{"id": "node-tax-gd", "jurisdiction": "CN"},
		"subject":   map[string]any{"id": "91350100M000100Y43", "type": "enterprise"},
		"purpose":   "loan_approval",
		"categories": []any{
			map[string]any{"name": "registration", "level": "public"},
			map[string]any{"name": "tax_payment", "level": "authorised"},
			map[string]any{"name": "social_insurance", "level": "authorised"},
		},
		"consent": map[string]any{
			"present": true, "id": "consent-1", "requester": "node-bank-a", "purpose": "loan_approval",
			"categories": []any{"tax_payment", "social_insurance"}, "uses_left": 3,
		},
		"approval": map[string]any{"present": false, "id": "", "purpose": "", "categories": []any{}, "requester": "", "subject": ""},
		"time":     "2026-03-01T10:00:00Z",
	}
}
