package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/grading"
	"github.com/creditexchange/node/node/internalapi"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/lists"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// loanSystem is a loan-origination system: its own HTTP client and client
// certificate, calling its bank's internal API.
type loanSystem struct {
	t    *testing.T
	base string
	hc   *http.Client
	// fatalf ends the caller on a transport failure: t.Fatalf on the test
	// goroutine; t.Errorf and runtime.Goexit on the loan system's own.
	fatalf func(format string, args ...any)
}

// withInternalAPI gives bank-a an internal listener and registers clients,
// returning their certificates and keys by name.
func withInternalAPI(t *testing.T, clients map[string]internalapi.AddOptions, issued map[string]tls.Certificate) func(*devnet.Network) {
	return withInternalAPIAt(t, "bank-a", clients, issued)
}

// withInternalAPIAt is withInternalAPI for the node id.
func withInternalAPIAt(t *testing.T, id string, clients map[string]internalapi.AddOptions, issued map[string]tls.Certificate) func(*devnet.Network) {
	return func(n *devnet.Network) {
		dir := n.NodeDir(id)
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.InternalListen = l.Addr().String()
		l.Close()
		cfg.Dir = ""
		if err := cfg.Save(dir); err != nil {
			t.Fatal(err)
		}
		op := internalapi.NewOperator(dir)
		for name, o := range clients {
			o.Name = name
			_, certPEM, keyPEM, err := op.Add(o)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			issued[name] = c
		}
	}
}

func (f *fed) internalClient(t *testing.T, cert tls.Certificate) *loanSystem {
	t.Helper()
	return f.internalClientOf(t, "bank-a", cert)
}

// internalClientOf is a client of node id's internal API.
func (f *fed) internalClientOf(t *testing.T, id string, cert tls.Certificate) *loanSystem {
	t.Helper()
	bank := f.nodes[id]
	pool, err := certs.LoadPool(internalapi.NewOperator(bank.Config.Dir).CACertPath())
	if err != nil {
		t.Fatal(err)
	}
	return &loanSystem{t: t, base: "https://" + bank.Config.InternalListen, fatalf: t.Fatalf, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
}

// call sends one request as staff member staff for business reference ref;
// out, if not nil, receives a 200 answer. It returns the status and the
// error code of a refusal.
func (l *loanSystem) call(method, path, staff, ref, key string, in, out any) (int, schemas.Code) {
	l.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			l.fatalf("%v", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.base+path, body)
	if err != nil {
		l.fatalf("%v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", schemas.ContentTypeJSON)
	}
	for h, v := range map[string]string{internalapi.HeaderStaffID: staff, internalapi.HeaderBusinessRef: ref, internalapi.HeaderIdempotencyKey: key} {
		if v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		l.fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		l.fatalf("%v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb schemas.ErrorBody
		if err := json.Unmarshal(b, &eb); err != nil {
			l.fatalf("%s %s: status %d without an error body: %q", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, eb.Error.Code
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			l.fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode, ""
}

// inquiryBytes is a provider's whole inquiry log, its entries' bytes concatenated.
func (f *fed) inquiryBytes(t *testing.T, id string) []byte {
	t.Helper()
	st, ok := f.nodes[id].Store.(interface {
		InquiryLeaves(ctx context.Context, from, to uint64) ([]store.StoredLeaf, error)
	})
	if !ok {
		t.Fatal("store cannot list inquiry leaves")
	}
	leaves, err := st.InquiryLeaves(context.Background(), 0, f.logSize(t, id))
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, l := range leaves {
		all = append(all, l.Entry...)
	}
	return all
}

// A loan-origination system validates an SME's consent, queries two
// providers through its bank's internal API, builds a verifiable report,
// and its internal audit finds its staff member's queries; the providers
// log only an opaque digest of the application number, never the staff id.
func TestInternalAPILoanOrigination(t *testing.T) {
	issued := map[string]tls.Certificate{}
	f := startFed(t, withInternalAPI(t, map[string]internalapi.AddOptions{
		"loan-system": {Operations: []string{internalapi.OpQuery, internalapi.OpConsentCheck, internalapi.OpReport},
			Purposes: []string{"loan_approval", "post_loan_management"}, Providers: []string{"tax-dept", "market-reg"}},
		"internal-audit": {Operations: []string{internalapi.OpAudit}, Purposes: []string{"loan_approval"}},
	}, issued))
	const staff, application = "staff-0042", "LA-2026-000123"
	sme := f.smes[0].USCC
	cats := []string{"tax_payment", "social_insurance", "registration"}
	consentTok, consentID, err := devnet.GrantConsent(f.subj, "bank-a", "loan_approval", cats, []string{"tax-dept", "market-reg"}, time.Hour, 4)
	if err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var checked internalapi.ConsentCheckAnswer
	var answers [2]internalapi.QueryAnswer
	var built internalapi.ReportBuildAnswer
	var verified internalapi.ReportVerifyAnswer
	go func() { // the loan system: a client of its own, with its own certificate
		defer close(done)
		ls := f.internalClient(t, issued["loan-system"])
		ls.fatalf = func(format string, args ...any) { t.Errorf(format, args...); runtime.Goexit() }
		if s, c := ls.call("POST", "/internal/v1/consent/check", staff, application, "", internalapi.ConsentCheckRequest{
			Consent: consentTok, Subject: sme, Purpose: "loan_approval", Categories: cats, Providers: []string{"tax-dept", "market-reg"},
		}, &checked); s != 200 {
			t.Errorf("consent check: %d %s", s, c)
			return
		}
		for i, q := range []internalapi.QueryRequest{
			{Provider: "tax-dept", Subject: sme, Purpose: "loan_approval", Categories: []string{"tax_payment", "social_insurance"}, Consent: consentTok},
			{Provider: "market-reg", Subject: sme, Purpose: "loan_approval", Categories: []string{"registration"}, Consent: consentTok},
		} {
			if s, c := ls.call("POST", "/internal/v1/query", staff, application, application+"/"+q.Provider, q, &answers[i]); s != 200 {
				t.Errorf("query %s: %d %s", q.Provider, s, c)
				return
			}
		}
		if s, c := ls.call("POST", "/internal/v1/reports", staff, application, application+"/report", internalapi.ReportBuildRequest{
			Subject: sme, Purpose: "loan_approval", Consent: consentTok, ValidFor: "24h",
			Parts: []internalapi.ReportPart{{Provider: "tax-dept", Categories: []string{"tax_payment"}}, {Provider: "market-reg", Categories: []string{"registration"}}},
		}, &built); s != 200 {
			t.Errorf("report build: %d %s", s, c)
			return
		}
		if s, c := ls.call("POST", "/internal/v1/reports/verify", staff, "", "", internalapi.ReportVerifyRequest{Report: built.Report}, &verified); s != 200 {
			t.Errorf("report verify: %d %s", s, c)
		}
	}()
	<-done
	if t.Failed() {
		return
	}
	if !checked.Valid || checked.ConsentID != consentID || checked.MaxUses != 4 || checked.Requester != "bank-a" {
		t.Fatalf("consent check: %+v", checked)
	}
	// Each provider told how much of the consent is left there, before any use.
	if len(checked.AtProviders) != 2 || checked.AtProviders[0].Provider != "tax-dept" || checked.AtProviders[1].Provider != "market-reg" {
		t.Fatalf("consent check at providers: %+v", checked.AtProviders)
	}
	for _, st := range checked.AtProviders {
		if st.State != schemas.ConsentUsable || st.Uses != 0 || st.UsesLeft != 4 || st.Code != "" {
			t.Fatalf("consent state at %s before use: %+v", st.Provider, st)
		}
	}
	ls0 := f.internalClient(t, issued["loan-system"])
	var after internalapi.ConsentCheckAnswer
	if s, c := ls0.call("POST", "/internal/v1/consent/check", staff, application, "", internalapi.ConsentCheckRequest{
		Consent: consentTok, Subject: sme, Purpose: "loan_approval", Categories: []string{"tax_payment"}, Providers: []string{"tax-dept"},
	}, &after); s != 200 || !after.Valid || len(after.AtProviders) != 1 {
		t.Fatalf("consent check after use: %d %s %+v", s, c, after)
	}
	if st := after.AtProviders[0]; st.Uses == 0 || st.Uses+st.UsesLeft != 4 || st.State != schemas.ConsentUsable {
		t.Fatalf("tax-dept's account after the query and the report: %+v", st)
	}
	// A one-use consent spent at tax-dept: the check says so, with the provider's code.
	oneUse, _, err := devnet.GrantConsent(f.subj, "bank-a", "loan_approval", []string{"tax_payment"}, []string{"tax-dept"}, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s, c := ls0.call("POST", "/internal/v1/query", staff, application, application+"/one-use", internalapi.QueryRequest{
		Provider: "tax-dept", Subject: sme, Purpose: "loan_approval", Categories: []string{"tax_payment"}, Consent: oneUse}, nil); s != 200 {
		t.Fatalf("query with the one-use consent: %d %s", s, c)
	}
	var spent internalapi.ConsentCheckAnswer
	if s, c := ls0.call("POST", "/internal/v1/consent/check", staff, application, "", internalapi.ConsentCheckRequest{
		Consent: oneUse, Subject: sme, Purpose: "loan_approval", Categories: []string{"tax_payment"}, Providers: []string{"tax-dept"},
	}, &spent); s != 200 || spent.Valid || spent.Code != schemas.CodeConsentExhausted || spent.AtProviders[0].State != schemas.ConsentExhausted || spent.AtProviders[0].UsesLeft != 0 {
		t.Fatalf("consent check of a spent consent: %d %s %+v", s, c, spent)
	}
	// A use the consent does not cover is answered with the provider's code.
	ls := f.internalClient(t, issued["loan-system"])
	var narrow internalapi.ConsentCheckAnswer
	if s, c := ls.call("POST", "/internal/v1/consent/check", staff, application, "", internalapi.ConsentCheckRequest{
		Consent: consentTok, Subject: sme, Purpose: "loan_approval", Categories: []string{"customs"}, Providers: []string{"tax-dept"},
	}, &narrow); s != 200 || narrow.Valid || narrow.Code != schemas.CodeConsentWrongCategory {
		t.Fatalf("consent check for an uncovered category: %d %s %+v", s, c, narrow)
	}
	if !answers[0].Decision.Allow || len(answers[0].Records) == 0 || !answers[1].Decision.Allow || len(answers[1].Records) == 0 {
		t.Fatalf("answers: %+v", answers)
	}
	if !verified.Valid || verified.Claims == nil || len(verified.Claims.Parts) != 2 || verified.Claims.ID != built.ID {
		t.Fatalf("report verification: %+v", verified)
	}

	// The providers logged the digest of the application number, never the
	// number or the staff id.
	for _, p := range []string{"tax-dept", "market-reg"} {
		raw := f.inquiryBytes(t, p)
		if bytes.Contains(raw, []byte(staff)) || bytes.Contains(raw, []byte(application)) {
			t.Fatalf("%s's inquiry log holds the staff id or the business reference in clear", p)
		}
		if !bytes.Contains(raw, []byte(`"business_ref_digest":"`)) {
			t.Fatalf("%s's inquiry log holds no business-reference digest", p)
		}
	}

	// The bank's internal audit finds who looked the SME up, for which application.
	audit := f.internalClient(t, issued["internal-audit"])
	var found internalapi.AuditAnswer
	q := url.Values{"staff_id": {staff}, "subject": {sme}}
	if s, c := audit.call("GET", "/internal/v1/audit/outbound?"+q.Encode(), "auditor-7", "", "", nil, &found); s != 200 {
		t.Fatalf("audit: %d %s", s, c)
	}
	receipts := map[string]int{}
	digests := map[string]bool{}
	for _, e := range found.Entries {
		if e.Entry.StaffID != staff || e.Entry.BusinessRef != application || e.Entry.Client != "loan-system" || e.Entry.Subject != sme {
			t.Fatalf("audit entry: %+v", e.Entry)
		}
		if e.Entry.Stage == schemas.OutboundReceipt && e.Entry.Kind == "" {
			receipts[e.Entry.Provider]++
		}
		if e.Entry.Kind == schemas.KindConsentStatus && e.Entry.Stage == schemas.OutboundReceipt {
			receipts["status at "+e.Entry.Provider]++
		}
		digests[e.Entry.BusinessRefDigest] = true
	}
	// Two queries and two report parts: two receipts from each provider (and
	// the one-use query at tax-dept); the consent status requests are
	// recorded too, with the staff id and the application.
	if receipts["tax-dept"] != 3 || receipts["market-reg"] != 2 || receipts["status at tax-dept"] != 3 || receipts["status at market-reg"] != 1 || len(digests) != 1 {
		t.Fatalf("audit found receipts %v, digests %v", receipts, digests)
	}
	if found.Entries[0].Index > answers[0].OutboundIndex {
		t.Fatal("audit entries out of log order")
	}
	var none internalapi.AuditAnswer
	if s, c := audit.call("GET", "/internal/v1/audit/outbound?staff_id=staff-9999", "auditor-7", "", "", nil, &none); s != 200 || len(none.Entries) != 0 {
		t.Fatalf("another staff member: %d %s %+v", s, c, none)
	}
	// The provider's digest is the one the bank logged for the application.
	for d := range digests {
		if !bytes.Contains(f.inquiryBytes(t, "tax-dept"), []byte(d)) {
			t.Fatal("the provider's entry does not carry the digest the bank logged")
		}
	}
}

// Bad input on the real listener: each refusal has its code, and nothing
// reaches a provider.
func TestInternalAPIRefusesBeforeAnyPeer(t *testing.T) {
	issued := map[string]tls.Certificate{}
	f := startFed(t, withInternalAPI(t, map[string]internalapi.AddOptions{
		"loan-system": {Operations: []string{internalapi.OpQuery}, Purposes: []string{"loan_approval"}, Providers: []string{"tax-dept"}},
		"retired":     {Operations: []string{internalapi.OpQuery}, Purposes: []string{"loan_approval"}},
	}, issued))
	bank := f.nodes["bank-a"]
	if err := internalapi.NewOperator(bank.Config.Dir).Clients.Revoke("retired", time.Now()); err != nil {
		t.Fatal(err)
	}
	memberCert, err := tls.LoadX509KeyPair(bank.Config.Path(bank.Config.TLS.Cert), bank.Config.Path(bank.Config.TLS.Key))
	if err != nil {
		t.Fatal(err)
	}
	consentTok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 5)
	q := internalapi.QueryRequest{Provider: "tax-dept", Subject: f.smes[0].USCC, Purpose: "loan_approval", Categories: []string{"tax_payment"}, Consent: consentTok}
	other := q
	other.Categories = []string{"social_insurance"}
	marketing := q
	marketing.Purpose = "marketing"
	before := f.logSize(t, "tax-dept")
	outBefore, err := bank.Store.OutboundLogSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	loan := f.internalClient(t, issued["loan-system"])
	// One good query spends the key used below.
	if s, c := loan.call("POST", "/internal/v1/query", "staff-1", "LA-1", "key-1", q, nil); s != 200 {
		t.Fatalf("good query: %d %s", s, c)
	}
	before++
	cases := []struct {
		name            string
		ls              *loanSystem
		staff, ref, key string
		body            any
		want            schemas.Code
	}{
		{"federation member certificate", f.internalClient(t, memberCert), "staff-1", "LA-1", "k", q, schemas.CodeClientUnknown},
		{"revoked client", f.internalClient(t, issued["retired"]), "staff-1", "LA-1", "k", q, schemas.CodeClientRevoked},
		{"purpose outside the allow-list", loan, "staff-1", "LA-1", "k", marketing, schemas.CodeClientNotPermitted},
		{"no staff id", loan, "", "LA-1", "k", q, schemas.CodeStaffIDMissing},
		{"no business reference", loan, "staff-1", "", "k", q, schemas.CodeBusinessRefMissing},
		{"no idempotency key", loan, "staff-1", "LA-1", "", q, schemas.CodeIdempotencyKeyMissing},
		{"key replayed with another body", loan, "staff-1", "LA-1", "key-1", other, schemas.CodeIdempotencyConflict},
		{"malformed body", loan, "staff-1", "LA-1", "k", map[string]any{"provider": 7}, schemas.CodeMalformedRequest},
		{"oversized body", loan, "staff-1", "LA-1", "k", map[string]string{"consent": strings.Repeat("x", int(bank.Config.MaxBodyBytes))}, schemas.CodeBodyTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.ls.t, tc.ls.fatalf = t, t.Fatalf
			if _, code := tc.ls.call("POST", "/internal/v1/query", tc.staff, tc.ref, tc.key, tc.body, nil); code != tc.want {
				t.Fatalf("code %q, want %s", code, tc.want)
			}
		})
	}
	if got := f.logSize(t, "tax-dept"); got != before {
		t.Fatalf("tax-dept logged %d inquiries from refused calls", got-before)
	}
	outAfter, err := bank.Store.OutboundLogSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if outAfter != outBefore+2 { // the good query's sent and receipt entries only
		t.Fatalf("outbound log grew by %d, want 2", outAfter-outBefore)
	}
}

// A provider refuses a query whose business-reference digest is not an
// opaque digest: the claim cannot carry a reference or a name in clear.
func TestProviderRefusesClearBusinessRef(t *testing.T) {
	f := startFed(t)
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 2)
	c := f.claims(tok)
	c.Ref = "LA-2026-000123"
	status, eb := f.raw(t, f.signQuery(t, c))
	if status != 400 || eb.Error.Code != schemas.CodeMalformedRequest {
		t.Fatalf("clear reference: %d %s", status, eb.Error.Code)
	}
	c = f.claims(tok)
	c.Ref = strings.Repeat("ab", 32)
	if status, eb := f.raw(t, f.signQuery(t, c)); status != 200 {
		t.Fatalf("digest reference: %d %s", status, eb.Error.Code)
	}
	if !bytes.Contains(f.inquiryBytes(t, "tax-dept"), []byte(`"business_ref_digest":"`+c.Ref+`"`)) {
		t.Fatal("the provider did not log the digest")
	}
}

// A department's supervision system runs a joint punishment check through
// its node's internal API; its audit finds the check under the staff id.
func TestInternalAPIJointPunishmentCheck(t *testing.T) {
	issued := map[string]tls.Certificate{}
	smes, err := devnet.DemoSMEs(3)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	entry := lists.Entry{List: "seriously_untrustworthy", ListName: "Food safety", Basis: "Food Safety Law art. 134", Authority: "Market Regulation",
		DecidedOn: today.AddDate(0, -2, 0).Format(time.DateOnly), ListedOn: today.AddDate(0, -2, 0).Format(time.DateOnly),
		Measures:       []lists.Measure{{Code: "procurement_ban", Description: "excluded from public procurement", Until: today.AddDate(2, 0, 0).Format(time.DateOnly)}},
		PublicationEnd: today.AddDate(3, 0, 0).Format(time.DateOnly)}
	nodes := specs()
	nodes[2].Catalog[lists.Category] = "shared"
	f := startFedSpecs(t, nodes, withInternalAPIAt(t, "tax-dept", map[string]internalapi.AddOptions{
		"supervision": {Operations: []string{internalapi.OpLists, internalapi.OpAudit}, Purposes: []string{lists.Purpose}},
	}, issued), func(n *devnet.Network) {
		if err := n.ImportRecords(context.Background(), "market-reg", []records.Record{listRecord(t, smes[1].USCC, "l-1", entry)}); err != nil {
			t.Fatal(err)
		}
	})
	sup := f.internalClientOf(t, "tax-dept", issued["supervision"])
	var out internalapi.ListsCheckAnswer
	if s, c := sup.call("POST", "/internal/v1/lists/check", "inspector-3", "CASE-88", "", internalapi.ListsCheckRequest{
		Subject: smes[1].USCC, Providers: []string{"market-reg"}}, &out); s != 200 {
		t.Fatalf("lists check: %d %s", s, c)
	}
	if !out.Listed || !out.Complete || len(out.Measures) != 1 || out.Measures[0].Code != "procurement_ban" {
		t.Fatalf("outcome: %+v", out)
	}
	var found internalapi.AuditAnswer
	if s, c := sup.call("GET", "/internal/v1/audit/outbound?business_ref=CASE-88&purpose="+lists.Purpose, "auditor-1", "", "", nil, &found); s != 200 {
		t.Fatalf("audit: %d %s", s, c)
	}
	if len(found.Entries) != 2 || found.Entries[1].Entry.StaffID != "inspector-3" || found.Entries[1].Entry.Provider != "market-reg" {
		t.Fatalf("audit: %+v", found.Entries)
	}
}

// A department's supervision system pulls another department's change feed
// through its node's internal API: the pull runs as a job, the job shows the
// batches applied and the cursor, the records arrive, and a second pull
// resumes at the cursor with nothing new. A client without the feeds
// operation, or asking a provider off its allow-list, is refused.
func TestInternalAPIFeedPull(t *testing.T) {
	issued := map[string]tls.Certificate{}
	smes, err := devnet.DemoSMEs(3)
	if err != nil {
		t.Fatal(err)
	}
	f := startFedSpecs(t, specs(), withInternalAPIAt(t, "tax-dept", map[string]internalapi.AddOptions{
		"supervision": {Operations: []string{internalapi.OpFeeds}, Purposes: []string{feeds.Purpose}, Providers: []string{"market-reg"}},
		"loans":       {Operations: []string{internalapi.OpQuery}, Purposes: []string{"loan_approval"}},
	}, issued), func(n *devnet.Network) {
		var pen []records.Record
		for i := range 3 {
			pen = append(pen, penalty(smes[i].USCC, 100+i))
		}
		if err := n.ImportRecords(context.Background(), "market-reg", pen); err != nil {
			t.Fatal(err)
		}
	})
	tax := f.nodes["tax-dept"]
	before := countRecords(t, tax, smes, "administrative_penalty")
	sup := f.internalClientOf(t, "tax-dept", issued["supervision"])
	pull := internalapi.FeedPullRequest{Provider: "market-reg", Feed: "administrative_penalty"}
	wait := func(key string) internalapi.Job {
		t.Helper()
		var job internalapi.Job
		if s, c := sup.call("POST", "/internal/v1/feeds/pull", "inspector-3", "", key, pull, &job); s != 200 {
			t.Fatalf("feed pull: %d %s", s, c)
		}
		for job.State == internalapi.JobRunning {
			time.Sleep(20 * time.Millisecond)
			if s, c := sup.call("GET", "/internal/v1/jobs/"+job.ID, "inspector-3", "", "", nil, &job); s != 200 {
				t.Fatalf("job: %d %s", s, c)
			}
		}
		return job
	}
	job := wait("pull-1")
	if job.State != internalapi.JobDone || job.Operation != internalapi.OpFeeds || job.Batches < 1 || job.Records != 3 || job.Cursor == 0 {
		t.Fatalf("first pull: %+v", job)
	}
	if got := countRecords(t, tax, smes, "administrative_penalty"); got-before != 3 {
		t.Fatalf("records after the pull: %d, before %d, job %+v", got, before, job)
	}
	again := wait("pull-2")
	if again.State != internalapi.JobDone || again.Records != 0 || again.Cursor != job.Cursor {
		t.Fatalf("second pull, from the cursor: %+v (first %+v)", again, job)
	}

	if s, c := sup.call("POST", "/internal/v1/feeds/pull", "inspector-3", "", "pull-3", internalapi.FeedPullRequest{Provider: "bank-a", Feed: "administrative_penalty"}, nil); s != 403 || c != schemas.CodeClientNotPermitted {
		t.Fatalf("provider off the allow-list: %d %s", s, c)
	}
	loans := f.internalClientOf(t, "tax-dept", issued["loans"])
	if s, c := loans.call("POST", "/internal/v1/feeds/pull", "officer-1", "", "pull-4", pull, nil); s != 403 || c != schemas.CodeClientNotPermitted {
		t.Fatalf("client without feeds: %d %s", s, c)
	}
	if s, c := loans.call("GET", "/internal/v1/jobs/"+job.ID, "officer-1", "", "", nil, nil); s != 403 || c != schemas.CodeClientNotPermitted {
		t.Fatalf("job of a client without feeds: %d %s", s, c)
	}
}

// A supervision system grades a subject through its department's internal
// API: without peers from the node's own records, with a peer also from the
// peer's penalties (asked under the statutory purpose); all_peers asks only
// the peers on the client's allow-list. A peer off the allow-list, or a
// client without the grade operation, is refused.
func TestInternalAPIGrade(t *testing.T) {
	issued := map[string]tls.Certificate{}
	smes, err := devnet.DemoSMEs(3)
	if err != nil {
		t.Fatal(err)
	}
	f := startFedSpecs(t, specs(), withInternalAPIAt(t, "tax-dept", map[string]internalapi.AddOptions{
		"supervision": {Operations: []string{internalapi.OpGrade}, Purposes: []string{grading.Purpose}, Providers: []string{"market-reg"}},
		"loans":       {Operations: []string{internalapi.OpQuery}, Purposes: []string{"loan_approval"}},
	}, issued), func(n *devnet.Network) {
		if err := n.ImportRecords(context.Background(), "market-reg", []records.Record{recentPenalty(smes[0].USCC, 1), recentPenalty(smes[0].USCC, 2)}); err != nil {
			t.Fatal(err)
		}
	})
	sup := f.internalClientOf(t, "tax-dept", issued["supervision"])
	grade := func(q internalapi.GradeRequest) internalapi.GradeAnswer {
		t.Helper()
		var ans internalapi.GradeAnswer
		if s, c := sup.call("POST", "/internal/v1/grade", "inspector-3", "INSPECT-7", "", q, &ans); s != 200 {
			t.Fatalf("grade %+v: %d %s", q, s, c)
		}
		return ans
	}
	own := grade(internalapi.GradeRequest{Subject: smes[0].USCC})
	if !own.Complete || !slices.Equal(own.Sources, []string{grading.LocalSource}) || own.Grade == "" {
		t.Fatalf("own records only: %+v", own)
	}
	withPeer := grade(internalapi.GradeRequest{Subject: smes[0].USCC, Peers: []string{"market-reg"}, At: time.Now().UTC().Format(time.DateOnly)})
	if !withPeer.Complete || !slices.Equal(withPeer.Sources, []string{grading.LocalSource, "market-reg"}) || withPeer.Facts["penalties_recent"] != own.Facts["penalties_recent"]+2 {
		t.Fatalf("with market-reg: %+v (own %+v)", withPeer, own)
	}
	all := grade(internalapi.GradeRequest{Subject: smes[0].USCC, AllPeers: true})
	if !slices.Equal(all.Sources, withPeer.Sources) || all.Grade != withPeer.Grade {
		t.Fatalf("all peers the client may ask: %+v", all)
	}

	if s, c := sup.call("POST", "/internal/v1/grade", "inspector-3", "INSPECT-7", "", internalapi.GradeRequest{Subject: smes[0].USCC, Peers: []string{"bank-a"}}, nil); s != 403 || c != schemas.CodeClientNotPermitted {
		t.Fatalf("peer off the allow-list: %d %s", s, c)
	}
	loans := f.internalClientOf(t, "tax-dept", issued["loans"])
	if s, c := loans.call("POST", "/internal/v1/grade", "officer-1", "LOAN-1", "", internalapi.GradeRequest{Subject: smes[0].USCC}, nil); s != 403 || c != schemas.CodeClientNotPermitted {
		t.Fatalf("client without grade: %d %s", s, c)
	}
}

// recentPenalty is penalty decided a month ago: recent for the grading rules.
func recentPenalty(subject string, i int) records.Record {
	r := penalty(subject, i)
	b, _ := json.Marshal(map[string]any{"decision_no": fmt.Sprintf("TAX-%d", i), "authority": "Tax Service",
		"decision_date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "violation": "late filing", "penalty": "fine", "amount": 1000 + i})
	r.Data = b
	return r
}

// A modelling system asks the hosts of a joint modelling job its bank
// proposed, through the bank's internal API: the host answers the job's
// state, a cancel erases it there (and needs an idempotency key), and a job
// the host never accepted from this node is job_unknown. A host off the
// client's allow-list, or a client without the joint operation, is refused.
func TestInternalAPIJointStatusCancel(t *testing.T) {
	issued := map[string]tls.Certificate{}
	jf := startJointFed(t, withInternalAPI(t, map[string]internalapi.AddOptions{
		"modelling": {Operations: []string{internalapi.OpJoint}, Purposes: []string{remote.PurposeJointModeling}, Providers: []string{"tax-dept"}},
		"loans":     {Operations: []string{internalapi.OpQuery}, Purposes: []string{"loan_approval"}},
	}, issued))
	const job = "job-internal-1"
	if _, err := jf.propose(t, job, []string{"tax_payment"}); err != nil {
		t.Fatal(err)
	}
	mod := jf.internalClientOf(t, "bank-a", issued["modelling"])
	ask := func(path, key, job string) internalapi.JointHostState {
		t.Helper()
		var ans internalapi.JointHostsAnswer
		if s, c := mod.call("POST", path, "analyst-2", "", key, internalapi.JointHostsRequest{Job: job, Hosts: []string{"tax-dept"}}, &ans); s != 200 {
			t.Fatalf("%s: %d %s", path, s, c)
		}
		if ans.Job != job || len(ans.Hosts) != 1 || ans.Hosts[0].Host != "tax-dept" {
			t.Fatalf("%s: %+v", path, ans)
		}
		return ans.Hosts[0]
	}
	if st := ask("/internal/v1/joint/status", "", job); st.State != schemas.JobProposed || st.Code != "" || st.Iterations == nil || st.Updated == "" {
		t.Fatalf("status of the proposed job: %+v", st)
	}
	if s, c := mod.call("POST", "/internal/v1/joint/cancel", "analyst-2", "", "", internalapi.JointHostsRequest{Job: job, Hosts: []string{"tax-dept"}}, nil); s != 400 || c != schemas.CodeIdempotencyKeyMissing {
		t.Fatalf("cancel without a key: %d %s", s, c)
	}
	if st := ask("/internal/v1/joint/cancel", "cancel-1", job); st.State != schemas.JobCancelled || st.Code != "" {
		t.Fatalf("cancel: %+v", st)
	}
	if st := ask("/internal/v1/joint/status", "", job); st.State != schemas.JobCancelled || st.Iterations != nil {
		t.Fatalf("status of the cancelled job: %+v", st)
	}
	for _, path := range []string{"/internal/v1/joint/status", "/internal/v1/joint/cancel"} {
		if st := ask(path, "cancel-2"+path, "job-never-proposed"); st.Code != schemas.CodeJobUnknown || st.State != "" {
			t.Fatalf("%s of a job never proposed: %+v", path, st)
		}
	}
	if s, c := mod.call("POST", "/internal/v1/joint/status", "analyst-2", "", "", internalapi.JointHostsRequest{Job: job, Hosts: []string{"market-reg"}}, nil); s != 403 || c != schemas.CodeClientNotPermitted {
		t.Fatalf("host off the allow-list: %d %s", s, c)
	}
	loans := jf.internalClientOf(t, "bank-a", issued["loans"])
	if s, c := loans.call("POST", "/internal/v1/joint/status", "officer-1", "", "", internalapi.JointHostsRequest{Job: job, Hosts: []string{"tax-dept"}}, nil); s != 403 || c != schemas.CodeClientNotPermitted {
		t.Fatalf("client without joint: %d %s", s, c)
	}
}

// Only the consent's requester learns its state at a provider: another
// member asking about it is refused with the consent's code, and the refusal
// is in the subject's log like any other.
func TestConsentStatusOnlyForItsRequester(t *testing.T) {
	f := startFed(t)
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 2)
	sme := f.smes[0].USCC
	ans, err := f.bank().ConsentStatus(t.Context(), "tax-dept", sme, tok, nil)
	if err != nil || ans.State != schemas.ConsentUsable || ans.UsesLeft != 2 || ans.Subject != sme {
		t.Fatalf("the requester's own consent: %+v, %v", ans, err)
	}
	before := f.logSize(t, "tax-dept")
	_, err = f.nodes["market-reg"].Client.ConsentStatus(t.Context(), "tax-dept", sme, tok, nil)
	if codeOf(t, err) != schemas.CodeConsentWrongRequester {
		t.Fatalf("another member asking: %v", err)
	}
	if f.logSize(t, "tax-dept") != before+1 {
		t.Fatal("the refusal is not in tax-dept's inquiry log")
	}
	// A consent that does not name the provider asked.
	if _, err := f.bank().ConsentStatus(t.Context(), "market-reg", sme, tok, nil); codeOf(t, err) != schemas.CodeConsentWrongProvider {
		t.Fatalf("a provider the consent does not name: %v", err)
	}
}
