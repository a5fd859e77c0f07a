package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/schemas"
)

// freeReports sets a node's free-report limit before it opens.
func freeReports(id string, limit int) func(*devnet.Network) {
	return func(n *devnet.Network) {
		cfg, err := config.Load(n.NodeDir(id))
		if err != nil {
			panic(err)
		}
		cfg.FreeReportsPerYear = limit
		if err := cfg.Save(n.NodeDir(id)); err != nil {
			panic(err)
		}
	}
}

// The objection path over loopback: a subject objects to one of its records,
// the record leaves flagged disputed, another subject cannot object to it,
// the operator removes it, it no longer leaves, and the subject reads the
// outcome; every step is in the subject's inquiry log.
func TestObjectionEndToEnd(t *testing.T) { objectionEndToEnd(t) }

// objectionEndToEnd is TestObjectionEndToEnd on the federation prepare
// makes (e2e_rights_postgres_test.go runs it with tax-dept on PostgreSQL).
func objectionEndToEnd(t *testing.T, prepare ...func(*devnet.Network)) {
	f := startFed(t, prepare...)
	ctx := context.Background()
	sc := f.subjectClient(t, f.subj)
	taxURL := f.publicURL("tax-dept")
	// A record only this subject holds (the seeded ids repeat across subjects).
	recordID := "tax-amended-1"
	if err := f.net.ImportRecords(ctx, "tax-dept", []records.Record{{Subject: f.smes[0].USCC, Category: "tax_payment", ID: recordID,
		Data: json.RawMessage(`{"year":2023,"tax_paid":1000,"tax_credit_grade":"B","arrears":500}`), UpdatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}

	filed, err := sc.Object(ctx, taxURL, "tax-dept", "tax_payment", recordID, "arrears were paid in March")
	if err != nil {
		t.Fatal(err)
	}
	if filed.Status != schemas.ObjectionOpen || filed.DueBy == "" {
		t.Fatalf("filed = %+v", filed)
	}
	// A second objection to the same record while the first is open.
	if _, err := sc.Object(ctx, taxURL, "tax-dept", "tax_payment", recordID, "again"); codeOf(t, err) != schemas.CodeAlreadyOpen {
		t.Fatalf("second objection: %v", err)
	}
	// Another subject objecting to this subject's record: refused, logged.
	other, err := f.net.EnrolSubject("market-reg", f.smes[1].USCC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.subjectClient(t, other).Object(ctx, taxURL, "tax-dept", "tax_payment", recordID, "not mine"); codeOf(t, err) != schemas.CodeNotFound {
		t.Fatalf("objection to another subject's record: %v", err)
	}
	// Repair of a record that is not negative.
	if _, err := sc.ApplyRepair(ctx, taxURL, "tax-dept", "tax_payment", recordID, "paid"); codeOf(t, err) != schemas.CodeRecordNotNegative {
		t.Fatalf("repair of tax_payment: %v", err)
	}

	// The record leaves flagged disputed; the others do not.
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 5)
	res, err := f.bank().Query(ctx, f.loanQuery(tok))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range res.Response.Records {
		if r.Disputed != (r.ID == recordID) {
			t.Fatalf("record %s disputed=%v", r.ID, r.Disputed)
		}
		if r.ID == recordID {
			seen++
		}
	}
	if seen != 1 {
		t.Fatalf("objected record returned %d times", seen)
	}

	// The subject sees it open; not overdue today.
	st, err := sc.Rights(ctx, taxURL, "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Objections) != 1 || st.Objections[0].Status != schemas.ObjectionOpen || st.Objections[0].Overdue || st.Objections[0].ID != filed.ID {
		t.Fatalf("status = %+v", st.Objections)
	}

	// The operator removes it (as `creditnode objections resolve` does).
	rs, ok := f.nodes["tax-dept"].Store.(rights.Store)
	if !ok {
		t.Fatal("tax-dept's store keeps no objections")
	}
	m := &rights.Manager{Store: rs, Operator: "operator:tax-dept"}
	if _, _, err := m.ResolveObjection(ctx, filed.ID, schemas.ObjectionRemoved, "the arrears entry could not be verified"); err != nil {
		t.Fatal(err)
	}
	res, err = f.bank().Query(ctx, f.loanQuery(tok))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Response.Records {
		if r.ID == recordID || r.Disputed {
			t.Fatalf("removed record still returned: %+v", r)
		}
	}
	st, err = sc.Rights(ctx, taxURL, "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	if o := st.Objections[0]; o.Status != schemas.ObjectionRemoved || o.Outcome != "the arrears entry could not be verified" || o.ResolvedAt == "" {
		t.Fatalf("after removal: %+v", o)
	}

	log, err := sc.Inquiries(ctx, taxURL, "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range log.Entries {
		if e.Entry.Kind != schemas.KindQuery && e.Entry.Kind != schemas.KindSubjectRead {
			kinds = append(kinds, e.Entry.Kind+"/"+e.Entry.Decision+"/"+string(e.Entry.Code))
		}
	}
	want := fmt.Sprint([]string{"objection/allow/", "objection/deny/already_open", "repair/deny/record_not_negative",
		"rights_status/allow/", "objection_resolved/allow/", "rights_status/allow/"})
	if fmt.Sprint(kinds) != want {
		t.Fatalf("log kinds %v, want %v", kinds, want)
	}
}

// Reading one's own inquiry log is not a report (art. 17 counts reports):
// with the statutory limit of 2 free reports, a subject reads its log more
// times than that, every read allowed and in the log.
func TestSelfReadsSpendNoFreeReport(t *testing.T) { selfReadsSpendNoFreeReport(t) }

func selfReadsSpendNoFreeReport(t *testing.T, prepare ...func(*devnet.Network)) {
	f := startFed(t, append(prepare, freeReports("tax-dept", 2))...)
	ctx := context.Background()
	sc := f.subjectClient(t, f.subj)
	before := f.logSize(t, "tax-dept")
	const reads = 5
	for i := 0; i < reads; i++ {
		if _, err := sc.Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept"); err != nil {
			t.Fatalf("read %d: %v", i+1, err)
		}
	}
	if after := f.logSize(t, "tax-dept"); after != before+reads {
		t.Fatalf("log grew %d → %d over %d reads", before, after, reads)
	}
}

// threats.md item 30 over loopback: with the statutory limit of 2, the third
// credit report of the year is refused free_reports_exhausted, and the
// refusal is itself in the log; a report holds the subject's records, an
// objected one flagged disputed; reading the log in between spends nothing.
func TestThirdFreeReportRefused(t *testing.T) { thirdFreeReportRefused(t) }

func thirdFreeReportRefused(t *testing.T, prepare ...func(*devnet.Network)) {
	f := startFed(t, append(prepare, freeReports("tax-dept", 2))...)
	ctx := context.Background()
	sc := f.subjectClient(t, f.subj)
	taxURL := f.publicURL("tax-dept")
	recordID := "tax-report-1"
	if err := f.net.ImportRecords(ctx, "tax-dept", []records.Record{{Subject: f.smes[0].USCC, Category: "tax_payment", ID: recordID,
		Data: json.RawMessage(`{"year":2023,"tax_paid":1000,"tax_credit_grade":"B","arrears":500}`), UpdatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Object(ctx, taxURL, "tax-dept", "tax_payment", recordID, "arrears were paid in March"); err != nil {
		t.Fatal(err)
	}
	// A request that fails verification costs nothing: a log-read token
	// presented as a report request is refused bad_signature.
	readTok, err := consent.SubjectRead(f.subj.Key, f.subj.Cert, "tax-dept", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if code := postPublic(t, sc.HTTP, taxURL+"/v1/subject/report", readTok); code != schemas.CodeBadSignature {
			t.Fatalf("log-read token as report request %d: %s", i+1, code)
		}
	}
	for i := 0; i < 2; i++ {
		rep, err := sc.Report(ctx, taxURL, "tax-dept")
		if err != nil {
			t.Fatalf("free report %d: %v", i+1, err)
		}
		if rep.Subject != f.smes[0].USCC || rep.Receipt == nil {
			t.Fatalf("report %d: %+v", i+1, rep)
		}
		found := false
		for _, r := range rep.Records {
			if r.Category == "tax_payment" && r.ID == recordID {
				found = r.Disputed
			}
		}
		if !found {
			t.Fatalf("report %d lacks the disputed record %s: %+v", i+1, recordID, rep.Records)
		}
		if _, err := sc.Inquiries(ctx, taxURL, "tax-dept"); err != nil {
			t.Fatalf("log read after report %d: %v", i+1, err)
		}
	}
	before := f.logSize(t, "tax-dept")
	_, err = sc.Report(ctx, taxURL, "tax-dept")
	if codeOf(t, err) != schemas.CodeFreeReportsExhausted {
		t.Fatalf("third report: %v", err)
	}
	if after := f.logSize(t, "tax-dept"); after != before+1 {
		t.Fatalf("the refusal was not logged: %d → %d", before, after)
	}
	log, err := sc.Inquiries(ctx, taxURL, "tax-dept")
	if err != nil {
		t.Fatalf("log read after the reports ran out: %v", err)
	}
	var reports []string
	for _, e := range log.Entries {
		if e.Entry.Kind == schemas.KindSubjectReport {
			reports = append(reports, e.Entry.Decision+"/"+string(e.Entry.Code))
		}
	}
	if want := fmt.Sprint([]string{"allow/", "allow/", "deny/free_reports_exhausted"}); fmt.Sprint(reports) != want {
		t.Fatalf("reports in the log: %v, want %v", reports, want)
	}
	// The limit is per subject: another subject still gets its report.
	other, err := f.net.EnrolSubject("market-reg", f.smes[1].USCC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.subjectClient(t, other).Report(ctx, taxURL, "tax-dept"); err != nil {
		t.Fatal(err)
	}
}

// postPublic posts tok to a public route and returns the error code of the
// answer (empty on 200).
func postPublic(t *testing.T, hc *http.Client, url string, tok []byte) schemas.Code {
	t.Helper()
	resp, err := hc.Post(url, schemas.ContentTypeJOSE, bytes.NewReader(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return ""
	}
	var e schemas.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("error answer (status %d): %v", resp.StatusCode, err)
	}
	return e.Error.Code
}

// subjectReads sets a node's per-subject limit on reads of one's own log
// before it opens.
func subjectReads(id string, perHour float64, burst int) func(*devnet.Network) {
	return func(n *devnet.Network) {
		cfg, err := config.Load(n.NodeDir(id))
		if err != nil {
			panic(err)
		}
		cfg.SubjectReads = config.SubjectReadLimit{PerHour: perHour, Burst: burst}
		if err := cfg.Save(n.NodeDir(id)); err != nil {
			panic(err)
		}
	}
}

// Reads of one's own log are limited per subject: past the burst (the
// bucket refills once an hour) the read is refused rate_limited, the
// refusal in the subject's log; another subject, from the same address,
// still reads.
func TestSubjectReadsLimitedPerSubject(t *testing.T) {
	f := startFed(t, subjectReads("tax-dept", 1, 3))
	ctx := context.Background()
	sc := f.subjectClient(t, f.subj)
	for i := 0; i < 3; i++ {
		if _, err := sc.Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept"); err != nil {
			t.Fatalf("read %d: %v", i+1, err)
		}
	}
	before := f.logSize(t, "tax-dept")
	_, err := sc.Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept")
	if codeOf(t, err) != schemas.CodeRateLimited {
		t.Fatalf("fourth read: %v", err)
	}
	if after := f.logSize(t, "tax-dept"); after != before+1 {
		t.Fatalf("the refusal was not logged: %d → %d", before, after)
	}
	leaves, err := f.nodes["tax-dept"].Store.SubjectInquiries(ctx, f.subj.ID)
	if err != nil {
		t.Fatal(err)
	}
	var reads []string
	for _, l := range leaves {
		le, err := inquirylog.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		if le.Entry.Kind == schemas.KindSubjectRead {
			reads = append(reads, le.Entry.Decision+"/"+string(le.Entry.Code))
		}
	}
	if want := fmt.Sprint([]string{"allow/", "allow/", "allow/", "deny/rate_limited"}); fmt.Sprint(reads) != want {
		t.Fatalf("self reads in the log: %v, want %v", reads, want)
	}
	other, err := f.net.EnrolSubject("market-reg", f.smes[1].USCC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.subjectClient(t, other).Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept"); err != nil {
		t.Fatalf("another subject: %v", err)
	}
}
