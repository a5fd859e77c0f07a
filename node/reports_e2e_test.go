package node_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/reports"
	"github.com/creditexchange/node/schemas"
)

// A report assembled by bank-a from two providers' real, logged answers,
// verified offline against the signed registry file.
func TestVerifiableReport(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	cats := []string{"tax_payment", "social_insurance", "registration"}
	tok, _, err := devnet.GrantConsent(f.subj, "bank-a", "loan_approval", cats, []string{"tax-dept", "market-reg"}, time.Hour, 2)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	bank := f.nodes["bank-a"]
	asm, err := reports.NewAssembler(reports.AssemblerOptions{ID: "bank-a", Signer: bank.Keys.Signer, KID: bank.Keys.SigningKID,
		Querier: bank.Client, Negative: cv.Negative})
	if err != nil {
		t.Fatal(err)
	}
	taxBefore, regBefore := f.logSize(t, "tax-dept"), f.logSize(t, "market-reg")
	rep, _, err := asm.Build(ctx, reports.Request{Subject: f.smes[0].USCC, Purpose: "loan_approval", Consent: tok, ValidFor: 24 * time.Hour,
		Parts: []reports.PartRequest{
			{Provider: "tax-dept", Categories: []string{"tax_payment", "social_insurance"}},
			{Provider: "market-reg", Categories: []string{"registration"}},
		}})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if f.logSize(t, "tax-dept") != taxBefore+1 || f.logSize(t, "market-reg") != regBefore+1 {
		t.Fatal("each part must be logged by its provider")
	}
	regTok, err := os.ReadFile(f.net.RegistryPath())
	if err != nil {
		t.Fatal(err)
	}
	authority := f.net.Authority.Public().(ed25519.PublicKey)
	got, _, err := reports.VerifyOffline(rep, regTok, authority, time.Now(), cv.Negative)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if len(got.Parts) != 2 || got.Parts[0].Issuer != "market-reg" || len(got.Parts[1].Records) != 3 || got.NegativeRecords() != 0 {
		t.Fatalf("verified report: %+v", got.Claims.Coverage)
	}
	if _, _, err := reports.VerifyOffline(rep, regTok, authority, time.Now().Add(25*time.Hour), cv.Negative); !errors.Is(err, reports.ErrExpired) {
		t.Fatalf("a day later: %v", err)
	}

	// Without the consent naming market-reg nothing is assembled.
	narrow, _, err := devnet.GrantConsent(f.subj, "bank-a", "loan_approval", cats, []string{"tax-dept"}, time.Hour, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = asm.Build(ctx, reports.Request{Subject: f.smes[0].USCC, Purpose: "loan_approval", Consent: narrow,
		Parts: []reports.PartRequest{{Provider: "tax-dept", Categories: []string{"tax_payment"}}, {Provider: "market-reg", Categories: []string{"registration"}}}})
	if c := codeOf(t, err); c != schemas.CodeConsentWrongProvider {
		t.Fatalf("consent without market-reg: %s", c)
	}
}
