package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/witness"
	"github.com/creditexchange/node/schemas"
)

// commitAndWitness makes tax-dept's subject checkpoint current, has bank-a
// witness it over mutual TLS, then has tax-dept collect bank-a's cosignature.
func commitAndWitness(t *testing.T, f *fed) {
	t.Helper()
	ctx := context.Background()
	tax, bank := f.nodes["tax-dept"], f.nodes["bank-a"]
	if _, err := tax.Logs.Inquiry.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tax.Witnessing.Committer.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bank.Witnessing.Witness.Poll(ctx, "tax-dept"); err != nil {
		t.Fatalf("bank-a witnessing tax-dept: %v", err)
	}
	if err := tax.Witnessing.Witness.Poll(ctx, "bank-a"); err != nil {
		t.Fatalf("tax-dept witnessing bank-a: %v", err)
	}
}

// Two providers witness each other; the subject verifies its log at
// tax-dept with one cosignature; a provider that omits one of the
// subject's entries (and signs the doctored answer with its own key) is
// caught; another subject's answer proves nothing about this one.
func TestSubjectVerifiesWitnessedLog(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 3)
	for range 2 {
		if _, err := f.bank().Query(ctx, f.loanQuery(tok)); err != nil {
			t.Fatal(err)
		}
	}
	noConsent := f.loanQuery("")
	if _, err := f.bank().Query(ctx, noConsent); err == nil {
		t.Fatal("query without consent answered")
	}
	commitAndWitness(t, f)

	reg := f.nodes["bank-a"].Registry.Current()
	members := witness.RegistryMembers{Current: func() *registry.Registry { return reg }}
	sc := f.subjectClient(t, f.subj)
	log, signed, err := sc.InquiriesSigned(ctx, f.publicURL("tax-dept"), "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	res, err := witness.VerifySubjectLog(log, members, 1)
	if err != nil {
		t.Fatalf("honest log: %v", err)
	}
	if res.Committed != 3 || res.Pending != 1 || !slices.Contains(res.Witnesses, witness.Name("bank-a")) {
		t.Fatalf("result %+v", res)
	}
	if _, err := witness.VerifySubjectLog(log, members, 2); !errors.Is(err, subjectlog.ErrNotWitnessed) {
		t.Fatalf("k=2 with one witness: %v", err)
	}

	// tax-dept turns malicious: drops the denied query from the answer and
	// signs the result with its registered key.
	var doctored schemas.SubjectLog
	if len(signed) != 1 {
		t.Fatalf("%d pages for a few entries", len(signed))
	}
	payload, _, err := jose.Verify(signed[0], schemas.TypSubjectLog, f.nodes["tax-dept"].Keys.SigningPublic())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &doctored); err != nil {
		t.Fatal(err)
	}
	doctored.Entries = slices.DeleteFunc(doctored.Entries, func(e schemas.LoggedEntry) bool { return e.Entry.Decision == schemas.DecisionDeny })
	if len(doctored.Entries) != len(log.Entries)-1 {
		t.Fatalf("expected to drop one entry of %d", len(log.Entries))
	}
	b, _ := json.Marshal(doctored)
	tax := f.nodes["tax-dept"]
	forged, err := jose.Sign(tax.Keys.Signer, tax.Keys.SigningKID, schemas.TypSubjectLog, b)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := sc.OpenSubjectLog([][]byte{forged}, "tax-dept") // its signature is genuine
	if err != nil {
		t.Fatal(err)
	}
	if _, err := witness.VerifySubjectLog(opened, members, 1); !errors.Is(err, subjectlog.ErrIncomplete) {
		t.Fatalf("omission not caught: %v", err)
	}

	// threats.md 29: another subject's answer holds none of this subject's
	// entries, and its proof does not pass for this subject.
	other, err := f.net.EnrolSubject("market-reg", f.smes[1].USCC)
	if err != nil {
		t.Fatal(err)
	}
	olog, err := f.subjectClient(t, other).Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range olog.Entries {
		if e.Entry.Subject != other.ID {
			t.Fatalf("entry %d of %s shown to %s", e.Index, e.Entry.Subject, other.ID)
		}
	}
	if _, err := witness.VerifySubjectLog(olog, members, 0); err != nil {
		t.Fatalf("other subject's own log: %v", err)
	}
	olog.Subject = f.subj.ID
	if _, err := witness.VerifySubjectLog(olog, members, 0); err == nil {
		t.Fatal("another subject's proof passed for this subject")
	}

	// No alarms between honest nodes; the API answers over mutual TLS.
	body, err := f.bank().Get(ctx, "tax-dept", witness.PathAlarms)
	if err != nil {
		t.Fatal(err)
	}
	var alarms struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(body, &alarms); err != nil || alarms.Count != 0 {
		t.Fatalf("alarms %s %v", body, err)
	}
}
