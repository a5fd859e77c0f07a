package node_test

import (
	"context"
	"testing"

	"github.com/creditexchange/node/schemas"
)

// TestRevokeAnswersWhatTheProviderKnows: a revocation's answer is the truth
// as the provider can know it. Another subject "revoking" a consent id the
// provider has seen used by its real subject gets consent_unknown and the
// consent stays in force; a consent never used is revoked_before_use and
// refused when presented later; a used consent of the subject's own is
// revoked.
func TestRevokeAnswersWhatTheProviderKnows(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	tax := f.publicURL("tax-dept")
	used, usedID := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 5)
	if _, err := f.bank().Query(ctx, f.loanQuery(used)); err != nil {
		t.Fatalf("query with the consent: %v", err)
	}

	other, err := f.net.EnrolSubject("market-reg", f.smes[1].USCC)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.subjectClient(t, other).Revoke(ctx, tax, "tax-dept", usedID)
	if c := codeOf(t, err); c != schemas.CodeConsentUnknown {
		t.Fatalf("another subject revoking a used consent id: %s, want consent_unknown", c)
	}
	if _, err := f.bank().Query(ctx, f.loanQuery(used)); err != nil {
		t.Fatalf("query after another subject's revocation: %v (the consent must stay in force)", err)
	}

	sc := f.subjectClient(t, f.subj)
	unused, unusedID := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 5)
	r, err := sc.Revoke(ctx, tax, "tax-dept", unusedID)
	if err != nil || r.Status != "revoked_before_use" {
		t.Fatalf("revoking an unused consent: %+v, %v; want revoked_before_use", r, err)
	}
	_, err = f.bank().Query(ctx, f.loanQuery(unused))
	if c := codeOf(t, err); c != schemas.CodeConsentRevoked {
		t.Fatalf("query with a consent revoked before use: %s, want consent_revoked", c)
	}

	r, err = sc.Revoke(ctx, tax, "tax-dept", usedID)
	if err != nil || r.Status != "revoked" {
		t.Fatalf("revoking a used consent: %+v, %v; want revoked", r, err)
	}
	_, err = f.bank().Query(ctx, f.loanQuery(used))
	if c := codeOf(t, err); c != schemas.CodeConsentRevoked {
		t.Fatalf("query after revocation: %s, want consent_revoked", c)
	}
}
