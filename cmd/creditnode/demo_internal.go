package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/schemas"
)

// The demo's loan-origination system: it calls bank-a's internal API (not
// the CLI, not bank-a's store), naming the staff member and the loan
// application each call is for, and bank-a's internal audit finds the call.

const (
	demoStaff       = "loan-officer-12"
	demoApplication = "LA-2026-0042"
)

// prepareDemoLoanSystem gives bank-a an internal listener and registers the
// loan system, before bank-a starts.
func prepareDemoLoanSystem(net *devnet.Network, dir string) (internalapi.ClientConfig, error) {
	return addInternalClient(net.NodeDir("bank-a"), "loan-system", []string{internalapi.OpQuery, internalapi.OpConsentCheck, internalapi.OpAudit},
		[]string{"loan_approval"}, dir)
}

func (a *app) demoLoanSystem(ctx context.Context, t *transcript, id internalapi.ClientConfig, subj *devnet.Subject, sme devnet.SME) error {
	t.step("bank-a's loan system calls bank-a's internal API for application %s (staff %s)", demoApplication, demoStaff)
	cl, err := internalapi.NewAPIClient(id)
	if err != nil {
		return err
	}
	tok, _, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", []string{"tax_payment"}, []string{"tax-dept"}, 30*24*time.Hour, 1)
	if err != nil {
		return err
	}
	who := internalapi.Who{StaffID: demoStaff, BusinessRef: demoApplication, IdempotencyKey: demoApplication + "/tax-dept"}
	var chk internalapi.ConsentCheckAnswer
	if err := cl.Do(ctx, http.MethodPost, "/internal/v1/consent/check", internalapi.Who{StaffID: demoStaff, BusinessRef: demoApplication}, internalapi.ConsentCheckRequest{
		Consent: tok, Subject: sme.USCC, Purpose: "loan_approval", Categories: []string{"tax_payment"}, Providers: []string{"tax-dept"}}, &chk); err != nil {
		return err
	}
	t.say("POST /internal/v1/consent/check: valid=%v (the SME's fresh consent, %d use)", chk.Valid, chk.MaxUses)
	ans, err := cl.Query(ctx, who, internalapi.QueryRequest{Provider: "tax-dept", Subject: sme.USCC, Purpose: "loan_approval",
		Categories: []string{"tax_payment"}, Consent: tok})
	if err != nil {
		return fmt.Errorf("query through the internal API: %w", err)
	}
	t.say("POST /internal/v1/query: ALLOWED  %d record(s); bank-a outbound log index %d", len(ans.Records), ans.OutboundIndex)
	t.say("tax-dept logged bank-a and a keyed digest of %s; it never saw the staff id", demoApplication)
	var found internalapi.AuditAnswer
	q := url.Values{"business_ref": {demoApplication}}
	if err := cl.Do(ctx, http.MethodGet, "/internal/v1/audit/outbound?"+q.Encode(), internalapi.Who{StaffID: "auditor-3"}, nil, &found); err != nil {
		return err
	}
	for _, e := range found.Entries {
		if e.Entry.Stage == schemas.OutboundReceipt {
			t.say("internal audit (GET /internal/v1/audit/outbound?business_ref=%s): %s asked %s about %s for %s", demoApplication,
				e.Entry.StaffID, e.Entry.Provider, e.Entry.Subject, e.Entry.Purpose)
		}
	}
	return nil
}
