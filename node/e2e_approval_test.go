package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node/approval"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// approvalSpecs adds a regulator to the usual federation; customs is
// restricted at tax-dept.
func approvalSpecs() []devnet.Spec {
	return append(specs(), devnet.Spec{ID: "pboc", Organisation: "Credit Regulator", USCC: "11100000000024686U",
		Roles: []string{"regulator"}})
}

// TestApprovalRestricted (threats.md item 17 for restricted data): a
// regulator's approval opens customs for exactly the requester, subject,
// purpose and categories it names, within its validity; anything else is
// denied with a code naming the shortfall, and every attempt is logged.
func TestApprovalRestricted(t *testing.T) {
	ctx := context.Background()
	var subject string
	f := startFedSpecs(t, approvalSpecs(), func(n *devnet.Network) {
		smes, err := devnet.DemoSMEs(1)
		if err != nil {
			t.Fatal(err)
		}
		subject = smes[0].USCC
		rec := records.Record{Subject: subject, Category: "customs", ID: "customs-2025", UpdatedAt: time.Now().UTC(),
			Data: []byte(`{"year":2025,"import_value":1200000,"export_value":3400000,"credit_level":"general_certified"}`)}
		if err := n.ImportRecords(ctx, "tax-dept", []records.Record{rec}); err != nil {
			t.Fatal(err)
		}
	})
	issue := func(by string, at time.Time, mut func(*schemas.ApprovalClaims)) string {
		t.Helper()
		c := schemas.ApprovalClaims{Case: "CASE-2026-042", Issuer: by, Subject: subject, Requester: "bank-a",
			Purpose: "loan_approval", Categories: []string{"customs"}, Expiry: at.Add(24 * time.Hour).Unix()}
		if mut != nil {
			mut(&c)
		}
		k := f.nodes[by].Keys
		tok, err := approval.Issue(k.Signer, k.SigningKID, c, at)
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	query := func(tok string, mut ...func(*peer.Query)) peer.Query {
		q := peer.Query{Provider: "tax-dept", Subject: subject, Purpose: "loan_approval", Categories: []string{"customs"}, Approval: tok}
		for _, m := range mut {
			m(&q)
		}
		return q
	}
	now := time.Now()

	res, err := f.bank().Query(ctx, query(issue("pboc", now, nil)))
	if err != nil {
		t.Fatalf("valid approval: %v", err)
	}
	if len(res.Response.Records) != 1 || !containsKey(res.Response.Records[0].Data, "credit_level") ||
		!strings.Contains(strings.Join(res.Response.Decision.Reasons, ","), "approval_covers") {
		t.Fatalf("valid approval: %+v", res.Response)
	}

	for _, tc := range []struct {
		name string
		q    peer.Query
		code schemas.Code
	}{
		{"missing", query(""), schemas.CodeApprovalMissing},
		{"expired", query(issue("pboc", now.Add(-25*time.Hour), nil)), schemas.CodeApprovalExpired},
		{"issued in the future", query(issue("pboc", now.Add(time.Hour), nil)), schemas.CodeApprovalNotYetValid},
		{"signed by a non-regulator member", query(issue("market-reg", now, nil)), schemas.CodeApprovalNotRegulator},
		{"other subject", query(issue("pboc", now, func(c *schemas.ApprovalClaims) { c.Subject = f.smes[1].USCC })), schemas.CodeApprovalWrongSubject},
		{"other requester", query(issue("pboc", now, func(c *schemas.ApprovalClaims) { c.Requester = "market-reg" })), schemas.CodeApprovalWrongRequester},
		{"other purpose", query(issue("pboc", now, func(c *schemas.ApprovalClaims) { c.Purpose = "guarantee_review" })), schemas.CodeApprovalWrongPurpose},
		{"other category", query(issue("pboc", now, func(c *schemas.ApprovalClaims) { c.Categories = []string{"social_insurance"} })), schemas.CodeApprovalWrongCategory},
		{"not a token", query("not.a.token"), schemas.CodeApprovalInvalid},
		{"consent in place of an approval", query(f.mustConsent(t)), schemas.CodeApprovalInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.logSize(t, "tax-dept")
			_, err := f.bank().Query(ctx, tc.q)
			if c := codeOf(t, err); c != tc.code {
				t.Fatalf("got %s, want %s (%v)", c, tc.code, err)
			}
			if after := f.logSize(t, "tax-dept"); after != before+1 {
				t.Fatalf("denial not logged: log size %d → %d", before, after)
			}
		})
	}

	// The subject's log names the case for the allowed query and for a
	// denial after the approval verified.
	leaves, err := f.nodes["tax-dept"].Store.SubjectInquiries(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]int{}
	for _, l := range leaves {
		le, err := inquirylog.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		if le.Entry.ApprovalCase != "" {
			cases[le.Entry.Decision+"/"+string(le.Entry.Code)]++
		}
	}
	if cases["allow/"] != 1 || cases["deny/approval_wrong_purpose"] != 1 || cases["deny/approval_missing"] != 0 {
		t.Fatalf("approval cases in the log: %v", cases)
	}
}

// mustConsent is a valid consent token (the wrong kind of token for an
// approval).
func (f *fed) mustConsent(t *testing.T) string {
	tok, _ := f.consent(t, "loan_approval", []string{"customs"}, 1)
	return tok
}
