package node_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

// TestDecisionIsRecorded: the allowed query's log entry carries the same
// decision id, revision, reasons and obligations as the response the
// requester received; a policy denial's entry carries its decision too.
func TestDecisionIsRecorded(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 5)
	res, err := f.bank().Query(ctx, f.loanQuery(tok))
	if err != nil {
		t.Fatal(err)
	}
	d := res.Response.Decision
	if d.ID == "" || d.PolicyRevision == "" || len(d.Obligations) == 0 {
		t.Fatalf("response decision incomplete: %+v", d)
	}
	q := f.loanQuery("")
	q.Purpose = "administrative_supervision" // not a bank's purpose: a policy deny
	if _, err := f.bank().Query(ctx, q); err == nil {
		t.Fatal("denied query answered")
	}

	log, err := f.subjectClient(t, f.subj).Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept")
	if err != nil || len(log.Entries) < 2 {
		t.Fatalf("log: %d entries, %v", len(log.Entries), err)
	}
	e := log.Entries[0].Entry
	if e.DecisionID != d.ID || e.PolicyRevision != d.PolicyRevision || !reflect.DeepEqual(e.Reasons, d.Reasons) {
		t.Errorf("entry decision %s/%s/%v, response %s/%s/%v", e.DecisionID, e.PolicyRevision, e.Reasons, d.ID, d.PolicyRevision, d.Reasons)
	}
	want, _ := json.Marshal(d.Obligations)
	if string(e.Obligations) != string(want) {
		t.Errorf("entry obligations %s, response %s", e.Obligations, want)
	}
	deny := log.Entries[1].Entry
	if deny.Decision != "deny" || deny.DecisionID == "" || deny.PolicyRevision == "" || string(deny.Code) != "purpose_not_permitted" {
		t.Errorf("denied entry lacks its decision: %+v", deny)
	}
}
