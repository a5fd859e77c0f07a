package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/subjectcheck"
)

// seed appends n entries about subject to provider's inquiry log, as
// queries of bank-a answered there, through the provider's sequencer (many
// at once: it batches them) rather than by n full queries.
func (f *fed) seed(t testing.TB, provider, subject string, n int) {
	t.Helper()
	if err := devnet.SeedInquiries(context.Background(), f.nodes[provider].Logs.Inquiry, subject, "registration", n); err != nil {
		t.Fatal(err)
	}
}

// A subject with 10,000 entries at one provider reads them over the real
// public listener (11 pages of at most 1,000, each a signed answer well
// under the token limit) and verifies them as all of its entries there,
// with a witness cosignature: the command line's path (node/peer,
// node/subjectcheck).
func TestTenThousandEntriesAtOneProvider(t *testing.T) {
	f := startFed(t, 1)
	f.seed(t, "market-reg", f.subj.ID, 10_000)
	f.commit(t, "market-reg")
	reg := f.nodes["bank-a"].Registry.Current()
	sc := &peer.SubjectClient{Key: f.subj.Key, Cert: f.subj.Cert, Registry: reg, HTTP: peer.NewSubjectHTTPClient(f.net.CA.Pool())}
	sc.HTTP.Timeout = time.Minute // a guard against a hung node, not an assertion on speed
	_, pages, err := sc.InquiriesSigned(context.Background(), f.publicURL("market-reg"), "market-reg")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 11 {
		t.Fatalf("%d pages, want 11", len(pages))
	}
	for i, p := range pages {
		if len(p) > 4<<20 {
			t.Fatalf("page %d is %d bytes", i+1, len(p))
		}
	}
	rep, err := subjectcheck.Check(pages, "market-reg", reg, f.subj.Cert, time.Now(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Incomplete != nil || rep.Result.Committed != 10_000 || rep.Result.Pending != 1 || len(rep.Log.Entries) != 10_001 {
		t.Fatalf("incomplete %v, result %+v, %d entries", rep.Incomplete, rep.Result, len(rep.Log.Entries))
	}
}

// In the browser: tax-dept holds more than one page of the subject's
// entries (1,100 and a denied query on the second page); the portal reads
// both pages, checks them together and shows tax-dept complete and green.
// When tax-dept hides the denied query on the second page, tax-dept turns
// red (completeness) while market-reg stays green.
func TestPortalReadsPages(t *testing.T) {
	f := startFed(t, 1)
	ctx := context.Background()
	f.seed(t, "tax-dept", f.subj.ID, 1100)
	if _, err := f.nodes["bank-a"].Client.Query(ctx, peer.Query{Provider: "tax-dept", Subject: f.subj.ID, Purpose: "loan_approval", Categories: []string{"tax_payment"}}); err == nil {
		t.Fatal("query without consent answered")
	}
	f.commit(t, "tax-dept", "market-reg")

	b := newBrowser(t)
	run(t, b, "open the portal", chromedp.Navigate(f.publicURL("bank-a")+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
	importKey(t, b, f.subj)
	tax := `#providers li[data-provider="tax-dept"]`
	run(t, b, "read", chromedp.Click(chromedp.ID("read")), chromedp.WaitVisible(chromedp.CSS(tax)),
		chromedp.WaitVisible(chromedp.CSS(`#providers li[data-provider="market-reg"]`)))
	if st, pages, s := attr(t, b, tax, "data-state"), attr(t, b, tax, "data-pages"), text(t, b, tax); st != "verified" || pages != "2" ||
		!strings.Contains(s, "Verified: 1101 entries") || !strings.Contains(s, "Read in 2 pages") {
		t.Fatalf("tax-dept %s in %s pages: %s", st, pages, s)
	}
	if class := attr(t, b, tax, "class"); class != "ok" {
		t.Fatalf("tax-dept shown %q, not green", class)
	}
	caption := text(t, b, "#tl-caption")
	if !strings.Contains(caption, "of 1104 entries") { // 1,101 and this read at tax-dept, this read at bank-a and at market-reg
		t.Fatalf("timeline caption %q", caption)
	}

	f.hider.hide.Store(true)
	run(t, b, "read from a provider hiding an entry on page 2", chromedp.Click(chromedp.ID("read")),
		chromedp.WaitVisible(chromedp.CSS(tax+`[data-state="failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#providers li[data-provider="market-reg"][data-state="verified"]`)))
	if check := attr(t, b, tax, "data-failed-check"); check != "completeness" {
		t.Fatalf("hiding provider: failed check %q: %s", check, text(t, b, tax))
	}
}
