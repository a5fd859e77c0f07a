package portal_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/creditexchange/node/node/subjectcheck"
	"github.com/creditexchange/node/schemas"
)

// requestReport asks, in the page, for the subject's credit report at
// provider ("" for all) and waits until the page has shown the answers.
func requestReport(t *testing.T, b context.Context, provider string) {
	t.Helper()
	run(t, b, "request the credit report at "+provider,
		chromedp.Poll[chromedp.Void](`(delete document.body.dataset.report, true)`),
		chromedp.SetValue(chromedp.ID("r-provider"), provider),
		chromedp.Click(chromedp.ID("r-request")),
		chromedp.Poll[chromedp.Void](`document.body.dataset.report !== undefined`))
}

// download clicks the link sel with the browser's downloads going to a
// temporary directory, waits for the browser to report the download
// finished and returns the file, as the subject would save it.
func download(t *testing.T, b context.Context, sel string) []byte {
	t.Helper()
	dir := t.TempDir()
	done := make(chan *browser.EventDownloadProgress, 1)
	lctx, stop := context.WithCancel(b)
	defer stop()
	if err := chromedp.Listen(lctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State != browser.DownloadProgressStateInProgress {
			select {
			case done <- e:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	events := true
	run(t, b, "allow downloads", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events})
		return err
	}))
	run(t, b, "click "+sel, chromedp.Click(chromedp.CSS(sel)))
	var e *browser.EventDownloadProgress
	select {
	case e = <-done:
	case <-b.Done(): // the browser's guard against a hang
		t.Fatalf("download of %s: %v", sel, b.Err())
	}
	if e.State != browser.DownloadProgressStateCompleted {
		t.Fatalf("download of %s: %s", sel, e.State)
	}
	body, err := os.ReadFile(filepath.Join(dir, e.GUID))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// The subject asks in the page for its credit report at market-reg: the
// records appear grouped by category, marked verified (green), and the
// signed report the page offers for download is the provider's signed
// answer, which verifies as `creditnode subject report` verifies it. A
// report altered in transit (tax-dept's, through the proxy) is shown in red
// with the failed signature check and its records marked not verified,
// not dropped; another subject's report, signed by the provider, is red
// too. A report past the year's free reports is refused, and the
// page shows the code. Asked at all providers, every answer is shown.
func TestCreditReportInBrowser(t *testing.T) {
	f := startFed(t, 1)
	sme := f.smes[0].USCC
	b := newBrowser(t)
	run(t, b, "open the portal", chromedp.Navigate(f.publicURL("bank-a")+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
	importKey(t, b, f.subj)

	requestReport(t, b, "market-reg")
	art := `#reports article[data-provider="market-reg"]`
	if st := attr(t, b, art, "data-state"); st != "verified" {
		t.Fatalf("market-reg report: state %q: %s", st, text(t, b, art))
	}
	if cls := attr(t, b, art, "class"); cls != "ok" {
		t.Fatalf("market-reg report not green: class %q", cls)
	}
	if s := text(t, b, art+" h3 .mark-ok"); s != "✓ verified" {
		t.Fatalf("market-reg mark %q", s)
	}
	pen := text(t, b, art+` table[data-category="administrative_penalty"] tr[data-record="`+penaltyID+`"]`)
	if !strings.Contains(pen, "AMR-2026-1") || !strings.Contains(pen, "✓ verified") {
		t.Fatalf("penalty row %q", pen)
	}
	if n := get(t, b, "registration rows", chromedp.Evaluate[int](`document.querySelectorAll('#reports article[data-provider="market-reg"] table[data-category="registration"] tbody tr').length`)); n != 1 {
		t.Fatalf("%d registration records shown", n)
	}
	if d := attr(t, b, art+` a[data-kind="jws"]`, "download"); d != "credit-report-market-reg.jws" {
		t.Fatalf("signed report download named %q", d)
	}
	if d := attr(t, b, art+` a[data-kind="json"]`, "download"); d != "credit-report-market-reg.json" {
		t.Fatalf("verified JSON download named %q", d)
	}
	jws := download(t, b, art+` a[data-kind="jws"]`)
	rep, err := subjectcheck.OpenReport(jws, "market-reg", f.nodes["bank-a"].Registry.Current())
	if err != nil {
		t.Fatalf("the downloaded report does not verify: %v", err)
	}
	if rep.Subject != sme || len(rep.Records) != 2 {
		t.Fatalf("downloaded report: subject %q, %d records", rep.Subject, len(rep.Records))
	}
	var verified schemas.SubjectReport
	if err := json.Unmarshal(download(t, b, art+` a[data-kind="json"]`), &verified); err != nil {
		t.Fatalf("the verified JSON download: %v", err)
	}
	if verified.Subject != sme || verified.Issuer != "market-reg" || len(verified.Records) != 2 || verified.Receipt == nil || verified.Receipt.LogIndex != rep.Receipt.LogIndex {
		t.Fatalf("verified JSON download: %+v", verified)
	}
	screenshot(t, b, "7-credit-report")
	run(t, b, "switch to Chinese", chromedp.Click(chromedp.ID("lang")))
	if h, a := text(t, b, art+" h3"), text(t, b, art+` a[data-kind="jws"]`); !strings.Contains(h, "已验证") || !strings.Contains(a, "下载") || text(t, b, "#rep-h") != "我的信用报告" {
		t.Fatalf("report in Chinese: heading %q, link %q", h, a)
	}
	run(t, b, "switch back", chromedp.Click(chromedp.ID("lang")))

	f.hider.alterReport.Store(true)
	requestReport(t, b, "tax-dept")
	art = `#reports article[data-provider="tax-dept"]`
	if st, cls := attr(t, b, art, "data-state"), attr(t, b, art, "class"); st != "failed" || cls != "fail" {
		t.Fatalf("altered report: state %q class %q: %s", st, cls, text(t, b, art))
	}
	if s := text(t, b, art); !strings.Contains(s, "FAILED") || !strings.Contains(s, "signature does not verify") || !strings.Contains(s, "✗ not verified") {
		t.Fatalf("altered report shown as %q", s)
	}
	rows := get(t, b, "altered rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#reports article[data-provider="tax-dept"] tbody tr')].map((r) => r.textContent)`))
	if len(rows) == 0 {
		t.Fatal("the altered report's records were dropped")
	}
	for _, r := range rows {
		if !strings.Contains(r, "9999999") || !strings.Contains(r, "✗ not verified") || strings.Contains(r, "✓") {
			t.Fatalf("altered record shown as %q", r)
		}
	}
	screenshot(t, b, "8-credit-report-altered")
	f.hider.alterReport.Store(false)

	// tax-dept answers with another subject's report, signed with its own
	// key: the signature verifies, the subject does not.
	other := f.smes[1].USCC
	f.hider.otherSubject.Store(&other)
	requestReport(t, b, "tax-dept")
	if st := attr(t, b, art, "data-state"); st != "failed" {
		t.Fatalf("another subject's report: state %q: %s", st, text(t, b, art))
	}
	if s := text(t, b, art); !strings.Contains(s, "FAILED") || !strings.Contains(s, "report of \""+other+"\"") {
		t.Fatalf("another subject's report shown as %q", s)
	}
	f.hider.otherSubject.Store(nil)

	// tax-dept has answered two reports (free_reports_per_year 3 in the
	// fixture); the third of the year is the last free one, asked with the keyboard: the button follows the provider
	// choice in the focus order.
	run(t, b, "choose tax-dept with the keyboard",
		chromedp.Poll[chromedp.Void](`(delete document.body.dataset.report, true)`),
		chromedp.SetValue(chromedp.ID("r-provider"), "tax-dept"),
		chromedp.Focus(chromedp.ID("r-provider")),
		chromedp.KeyEvent("\t"))
	if id := get(t, b, "focused element", chromedp.Evaluate[string](`document.activeElement.id`)); id != "r-request" {
		t.Fatalf("Tab from the provider choice focuses %q", id)
	}
	run(t, b, "request with Enter", chromedp.KeyEvent("\r"), chromedp.Poll[chromedp.Void](`document.body.dataset.report !== undefined`))
	if st := attr(t, b, art, "data-state"); st != "verified" {
		t.Fatalf("second report at tax-dept: %q: %s", st, text(t, b, art))
	}
	requestReport(t, b, "tax-dept")
	if st, code := attr(t, b, art, "data-state"), attr(t, b, art, "data-code"); st != "refused" || code != "free_reports_exhausted" {
		t.Fatalf("fourth report at tax-dept: state %q code %q: %s", st, code, text(t, b, art))
	}
	if s := text(t, b, art); !strings.Contains(s, "free_reports_exhausted") || !strings.Contains(s, "No free reports left this year") {
		t.Fatalf("refusal shown as %q", s)
	}
	if n := get(t, b, "download links of a refusal", chromedp.Evaluate[int](`document.querySelectorAll('#reports article[data-provider="tax-dept"] a').length`)); n != 0 {
		t.Fatalf("a refusal offers %d downloads", n)
	}

	// All providers at once: each answer is shown, none dropped; bank-a
	// holds no records on the SME and says so, signed.
	requestReport(t, b, "")
	states := get(t, b, "report states", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#reports article')].map((a) => a.dataset.provider + '=' + a.dataset.state)`))
	slices.Sort(states)
	if want := []string{"bank-a=verified", "market-reg=verified", "tax-dept=refused"}; !slices.Equal(states, want) {
		t.Fatalf("reports of all providers: %v, want %v", states, want)
	}
	if s := text(t, b, `#reports article[data-provider="bank-a"]`); !strings.Contains(s, "No records.") {
		t.Fatalf("bank-a's empty report shown as %q", s)
	}
	if s := text(t, b, "#status"); s != "Credit reports: 2 verified, 0 not verified, 1 refused." {
		t.Fatalf("status after asking all: %q", s)
	}
}
