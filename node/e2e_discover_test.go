package node_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

// TestDiscover: a member asks tax-dept which categories it could query for
// a purpose; the answer is the policy's, per category, signed and logged
// without a subject.
func TestDiscover(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	byName := func(a *schemas.DiscoveryAnswer) map[string]schemas.DiscoveredCategory {
		m := map[string]schemas.DiscoveredCategory{}
		for _, c := range a.Categories {
			m[c.Name] = c
		}
		return m
	}

	before := f.logSize(t, "tax-dept")
	ans, err := f.bank().Discover(ctx, "tax-dept", "loan_approval", "")
	if err != nil {
		t.Fatal(err)
	}
	if after := f.logSize(t, "tax-dept"); after != before+1 || ans.Receipt.LogIndex != before {
		t.Fatalf("discovery not logged once: size %d → %d, receipt index %d", before, after, ans.Receipt.LogIndex)
	}
	got := byName(ans)
	if len(got) != 3 || ans.SubjectType != schemas.SubjectEnterprise || ans.PolicyRevision == "" {
		t.Fatalf("answer %+v", ans)
	}
	tax := got["tax_payment"]
	if !tax.Available || tax.Needs != schemas.NeedsConsent || !slices.Contains(tax.Fields, "tax_credit_grade") ||
		slices.Contains(tax.Fields, "declared_revenue") || !slices.Contains(tax.Reasons, "consent_covers") || tax.DecisionID == "" {
		t.Fatalf("tax_payment: %+v", tax)
	}
	if c := got["customs"]; !c.Available || c.Needs != schemas.NeedsApproval || c.Level != "restricted" {
		t.Fatalf("customs: %+v", c)
	}

	// A person's data needs consent on top of any approval.
	ans, err = f.bank().Discover(ctx, "tax-dept", "loan_approval", schemas.SubjectPerson)
	if err != nil {
		t.Fatal(err)
	}
	if c := byName(ans)["customs"]; !c.Available || c.Needs != schemas.NeedsConsentAndApproval {
		t.Fatalf("customs for a person: %+v", c)
	}

	// A bank may not use a statutory purpose: every category denied, with
	// the policy's code.
	ans, err = f.bank().Discover(ctx, "tax-dept", "administrative_supervision", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ans.Categories {
		if c.Available || c.Code != schemas.CodePurposeNotPermitted || c.Fields != nil {
			t.Fatalf("administrative_supervision as a bank: %+v", c)
		}
	}
	// An unknown purpose is answered too (purpose_unknown per category).
	ans, err = f.bank().Discover(ctx, "tax-dept", "marketing", "")
	if err != nil {
		t.Fatal(err)
	}
	if c := ans.Categories[0]; c.Available || c.Code != schemas.CodePurposeUnknown {
		t.Fatalf("marketing: %+v", c)
	}
}

// TestDiscoverRefusals: the request is checked like a query; refusals are
// logged too.
func TestDiscoverRefusals(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	b := f.nodes["bank-a"]
	sign := func(typ string, c schemas.DiscoverClaims) []byte {
		payload, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jose.Sign(b.Keys.Signer, b.Keys.SigningKID, typ, payload)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := func() schemas.DiscoverClaims {
		return schemas.DiscoverClaims{ID: peer.NewRequestID(), IssuedAt: time.Now().Unix(), Issuer: "bank-a", Audience: "tax-dept", Purpose: "loan_approval"}
	}
	post := func(body []byte) (int, schemas.ErrorBody) {
		status, resp, err := b.Client.SendRaw(ctx, "tax-dept", peer.RouteDiscover, body)
		if err != nil {
			t.Fatal(err)
		}
		var eb schemas.ErrorBody
		if status != 200 {
			if err := json.Unmarshal(resp, &eb); err != nil {
				t.Fatalf("status %d: %q", status, resp)
			}
		}
		return status, eb
	}
	replayed := sign(schemas.TypDiscover, good())
	if status, _ := post(replayed); status != 200 {
		t.Fatalf("first use: %d", status)
	}
	for _, tc := range []struct {
		name string
		body []byte
		code schemas.Code
	}{
		{"replay", replayed, schemas.CodeReplay},
		{"query token", sign(schemas.TypQuery, good()), schemas.CodeBadSignature},
		{"other audience", sign(schemas.TypDiscover, func() schemas.DiscoverClaims { c := good(); c.Audience = "market-reg"; return c }()), schemas.CodeWrongAudience},
		{"other issuer", sign(schemas.TypDiscover, func() schemas.DiscoverClaims { c := good(); c.Issuer = "market-reg"; return c }()), schemas.CodeIdentityMismatch},
		{"stale", sign(schemas.TypDiscover, func() schemas.DiscoverClaims { c := good(); c.IssuedAt -= 3600; return c }()), schemas.CodeClockSkew},
		{"bad subject type", sign(schemas.TypDiscover, func() schemas.DiscoverClaims { c := good(); c.SubjectType = "robot"; return c }()), schemas.CodeMalformedRequest},
		{"not a token", []byte("hello"), schemas.CodeMalformedRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.logSize(t, "tax-dept")
			status, eb := post(tc.body)
			if status == 200 || eb.Error.Code != tc.code {
				t.Fatalf("status %d, code %s; want %s", status, eb.Error.Code, tc.code)
			}
			if eb.Error.LogIndex == nil || f.logSize(t, "tax-dept") != before+1 {
				t.Fatal("refusal not logged")
			}
		})
	}
}
