package main

import (
	"strings"
	"testing"
)

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"loan_aproval", "loan_approval", 1}, {"flaw", "lawn", 2}, {"same", "same", 0},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestCheckNames(t *testing.T) {
	known := []string{"loan_approval", "post_loan_management", "guarantee_review"}
	if err := checkNames("purpose", []string{"loan_approval", "guarantee_review"}, known); err != nil {
		t.Fatalf("known names refused: %v", err)
	}
	err := checkNames("purpose", []string{"loan_approval", "loan_aproval"}, known)
	if err == nil || !strings.Contains(err.Error(), `unknown purpose "loan_aproval" (did you mean "loan_approval"?)`) {
		t.Fatalf("typo: %v", err)
	}
	err = checkNames("purpose", []string{"mortgage"}, known)
	if err == nil || strings.Contains(err.Error(), "did you mean") || !strings.Contains(err.Error(), "known: loan_approval") {
		t.Fatalf("far name: %v", err)
	}
}
