package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// chromiumPath is Debian's chromium package (.ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

// screenshotsEnv names a directory to write the pages' screenshots into
// (for the README); unset, none are taken.
const screenshotsEnv = "PORTAL_SCREENSHOTS"

// newBrowser starts a headless Chromium with a fresh profile. The
// federation's development CA is not in its trust store, so certificate
// errors are ignored; the page still runs in a secure context (https).
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the portal tests need Debian's chromium package (apt-get install -y chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// A guard against a hung browser, not an assertion on speed.
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func run(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func get[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func attr(t testing.TB, ctx context.Context, sel, name string) string {
	t.Helper()
	return get(t, ctx, name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(get(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// importKey writes the subject's key file, as `creditnode subject keygen`
// does, and its certificate, and imports both in the page.
func importKey(t testing.TB, b context.Context, subj *devnet.Subject) {
	t.Helper()
	dir := t.TempDir()
	pemBytes, err := keys.MarshalSigningKey(subj.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, certFile := filepath.Join(dir, "subject.key"), filepath.Join(dir, "subject.cert")
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, subj.Cert, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, b, "import the key",
		chromedp.SetUploadFiles(chromedp.ID("key-files"), []string{keyFile, certFile}),
		chromedp.Click(chromedp.ID("import")),
		chromedp.WaitVisible(chromedp.ID("has-key")))
}

// The subject imports its key file and certificate, reads its log at every
// provider directly from the browser and sees entries from two providers,
// each verified complete with a witness cosignature (green); when tax-dept
// hides the denied query, tax-dept turns red naming the failed check, its
// entries stay on the page marked not verified, and market-reg stays green.
// The subject grants a consent in the browser, the bank's query under it is
// answered, the subject revokes it at the providers and the next query is
// refused consent_revoked. An objection filed in the page is open at the
// provider with its 20-day deadline. The language switches to Chinese and
// back.
func TestPortalInBrowser(t *testing.T) {
	f := startFed(t, 1)
	ctx := context.Background()
	bank := f.nodes["bank-a"].Client
	sme := f.smes[0].USCC
	consentTok, _, err := devnet.GrantConsent(f.subj, "bank-a", "loan_approval", []string{"tax_payment", "social_insurance"}, []string{"tax-dept"}, time.Hour, 3)
	if err != nil {
		t.Fatal(err)
	}
	loan := peer.Query{Provider: "tax-dept", Subject: sme, Purpose: "loan_approval", Categories: []string{"tax_payment", "social_insurance"}, Consent: consentTok}
	for range 2 {
		if _, err := bank.Query(ctx, loan); err != nil {
			t.Fatal(err)
		}
	}
	noConsent := loan
	noConsent.Consent = ""
	if _, err := bank.Query(ctx, noConsent); err == nil {
		t.Fatal("query without consent answered")
	}
	if _, err := bank.Query(ctx, peer.Query{Provider: "market-reg", Subject: sme, Purpose: "loan_approval", Categories: []string{"registration"}}); err != nil {
		t.Fatal(err)
	}
	f.commit(t, "tax-dept", "market-reg")

	b := newBrowser(t)
	page := f.publicURL("bank-a") + "/portal/"
	run(t, b, "open the portal", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
	if s := text(t, b, "#status"); !strings.Contains(s, "Registry verified") {
		t.Fatalf("status after load: %q", s)
	}
	screenshot(t, b, "1-start")
	// Every control has a label a screen reader announces.
	unlabelled := get(t, b, "unlabelled controls", chromedp.Evaluate[[]string](`[...document.querySelectorAll('input, select, textarea')]
		.filter((c) => c.type !== 'hidden' && !(c.labels && c.labels.length) && !c.getAttribute('aria-label')).map((c) => c.id || c.outerHTML)`))
	if len(unlabelled) > 0 {
		t.Fatalf("controls without a label: %v", unlabelled)
	}

	importKey(t, b, f.subj)
	if s := text(t, b, "#subject"); s != sme {
		t.Fatalf("subject shown %q, want %q", s, sme)
	}
	extractable := get(t, b, "is the key extractable", chromedp.Evaluate[bool](`(async () => {
		const d = await new Promise((ok) => { const r = indexedDB.open('creditnode-portal', 1); r.onsuccess = () => ok(r.result); });
		const k = await new Promise((ok) => { const g = d.transaction('identity').objectStore('identity').get('subject'); g.onsuccess = () => ok(g.result); });
		return k.privateKey.extractable;
	})()`, chromedp.EvalAwaitPromise))
	if extractable {
		t.Fatal("the subject's key is extractable")
	}

	run(t, b, "read", chromedp.Click(chromedp.ID("read")),
		chromedp.WaitVisible(chromedp.CSS(`#providers li[data-provider="tax-dept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#providers li[data-provider="market-reg"]`)))
	for _, p := range []string{"tax-dept", "market-reg"} {
		li := `#providers li[data-provider="` + p + `"]`
		if state := attr(t, b, li, "data-state"); state != "verified" {
			t.Fatalf("%s: state %q: %s", p, state, text(t, b, li))
		}
		if s := text(t, b, li); !strings.Contains(s, "creditexchange/bank-a/witness") {
			t.Fatalf("%s: no witness named: %s", p, s)
		}
	}
	const rowsJS = `[...document.querySelectorAll('#timeline tbody tr')].map(r => r.dataset.provider + '|' + [...r.cells].map(c => c.textContent).join('|'))`
	rows := get(t, b, "timeline rows", chromedp.Evaluate[[]string](rowsJS))
	count := func(sub ...string) int {
		n := 0
		for _, r := range rows {
			all := true
			for _, s := range sub {
				all = all && strings.Contains(r, s)
			}
			if all {
				n++
			}
		}
		return n
	}
	if count("tax-dept|", "Bank A", "loan_approval", "allowed", "✓ verified") != 2 || count("tax-dept|", "Bank A", "denied (consent_missing)", "✓ verified") != 1 ||
		count("market-reg|", "Bank A", "registration", "✓ verified") != 1 {
		t.Fatalf("timeline:\n%s", strings.Join(rows, "\n"))
	}
	screenshot(t, b, "2-timeline-verified")

	f.hider.hide.Store(true)
	run(t, b, "read from a hiding provider", chromedp.Click(chromedp.ID("read")),
		chromedp.WaitVisible(chromedp.CSS(`#providers li[data-provider="tax-dept"][data-state="failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#providers li[data-provider="market-reg"][data-state="verified"]`)))
	taxLi := `#providers li[data-provider="tax-dept"]`
	if check, s := attr(t, b, taxLi, "data-failed-check"), text(t, b, taxLi); check != "completeness" || !strings.Contains(s, "FAILED") {
		t.Fatalf("hiding provider shown as %q: %s", check, s)
	}
	rows = get(t, b, "timeline rows", chromedp.Evaluate[[]string](rowsJS))
	if count("tax-dept|", "loan_approval", "✗ not verified") != 2 || count("tax-dept|", "✓ verified") != 0 || count("market-reg|", "registration", "✓ verified") != 1 {
		t.Fatalf("timeline with a hiding provider:\n%s", strings.Join(rows, "\n"))
	}
	screenshot(t, b, "3-tampering-provider")
	f.hider.hide.Store(false)

	// A consent signed in the browser, used by the bank, revoked at the providers.
	run(t, b, "grant a consent",
		chromedp.SetValue(chromedp.ID("c-requester"), "bank-a"),
		chromedp.SetValue(chromedp.ID("c-categories"), "tax_payment,social_insurance"),
		chromedp.SetValue(chromedp.ID("c-providers"), "tax-dept"),
		chromedp.SetValue(chromedp.ID("c-uses"), "2"),
		chromedp.Click(chromedp.CSS(`#grant button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#consents li[data-consent]")))
	tok := get(t, b, "consent token", chromedp.Value(chromedp.ID("c-token")))
	claims := payloadOf(t, tok)
	if claims["sub"] != sme || claims["requester"] != "bank-a" || claims["purpose"] != "loan_approval" || fmt.Sprint(claims["providers"]) != "[tax-dept]" {
		t.Fatalf("consent claims %v", claims)
	}
	browserLoan := loan
	browserLoan.Consent = tok
	if _, err := bank.Query(ctx, browserLoan); err != nil {
		t.Fatalf("query under the browser's consent: %v", err)
	}
	screenshot(t, b, "4-consent")
	run(t, b, "revoke the consent",
		chromedp.Click(chromedp.CSS("#consents li[data-consent] button")),
		chromedp.WaitVisible(chromedp.CSS("#consents li[data-consent] .mark-bad")))
	if s := text(t, b, "#consents li[data-consent]"); !strings.Contains(s, "tax-dept") {
		t.Fatalf("revocation shown as %q", s)
	}
	_, err = bank.Query(ctx, browserLoan)
	var we *schemas.Error
	if !errors.As(err, &we) || we.Code != schemas.CodeConsentRevoked {
		t.Fatalf("query after revocation in the browser: %v", err)
	}

	// An objection filed in the browser is open at tax-dept, due 20 days later.
	record := fmt.Sprintf("si-%d-12", time.Now().Year()-1)
	run(t, b, "file an objection",
		chromedp.SetValue(chromedp.ID("o-provider"), "tax-dept"),
		chromedp.SetValue(chromedp.ID("o-category"), "social_insurance"),
		chromedp.SetValue(chromedp.ID("o-record"), record),
		chromedp.SetValue(chromedp.ID("o-reason"), "the December contribution was paid"),
		chromedp.Click(chromedp.CSS(`#object button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#objections tbody tr[data-provider="tax-dept"][data-status="open"]`)))
	objRow := `#objections tbody tr[data-provider="tax-dept"]`
	if s := text(t, b, objRow); !strings.Contains(s, record) || !strings.Contains(s, "open") {
		t.Fatalf("objection row %q", s)
	}
	taxEntry, err := node.MemberEntry(f.net.NodeDir("tax-dept"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &peer.SubjectClient{Key: f.subj.Key, Cert: f.subj.Cert, Registry: f.nodes["bank-a"].Registry.Current(), HTTP: peer.NewSubjectHTTPClient(f.net.CA.Pool())}
	rights, err := sc.Rights(ctx, taxEntry.PublicEndpoint, "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	if len(rights.Objections) != 1 || rights.Objections[0].ID != attr(t, b, objRow, "data-objection") || rights.Objections[0].RecordID != record {
		t.Fatalf("objections at tax-dept: %+v", rights.Objections)
	}
	filed, _ := time.Parse(time.RFC3339, rights.Objections[0].FiledAt)
	due, _ := time.Parse(time.RFC3339, rights.Objections[0].DueBy)
	if due.Sub(filed) != 20*24*time.Hour {
		t.Fatalf("objection due %s after filing", due.Sub(filed))
	}

	// A credit-repair application for the penalty at market-reg is pending
	// there; one for a record that is not negative is refused, visibly.
	run(t, b, "apply for repair",
		chromedp.SetValue(chromedp.ID("o-kind"), "repair"),
		chromedp.SetValue(chromedp.ID("o-provider"), "market-reg"),
		chromedp.SetValue(chromedp.ID("o-category"), "administrative_penalty"),
		chromedp.SetValue(chromedp.ID("o-record"), penaltyID),
		chromedp.SetValue(chromedp.ID("o-reason"), "the annual report was filed"),
		chromedp.Click(chromedp.CSS(`#object button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#objections tbody tr[data-provider="market-reg"][data-kind="repair"][data-status="pending"]`)))
	run(t, b, "apply for repair of a record that is not negative",
		chromedp.SetValue(chromedp.ID("o-provider"), "tax-dept"),
		chromedp.SetValue(chromedp.ID("o-category"), "social_insurance"),
		chromedp.SetValue(chromedp.ID("o-record"), record),
		chromedp.Click(chromedp.CSS(`#object button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.includes('record_not_negative')`))
	screenshot(t, b, "5-objection")

	run(t, b, "switch to Chinese", chromedp.Click(chromedp.ID("lang")))
	lang := get(t, b, "html lang", chromedp.Evaluate[string](`document.documentElement.lang`))
	if h := text(t, b, "h1"); lang != "zh-CN" || h != "谁查询了我？" || !strings.Contains(text(t, b, `#providers li[data-provider="market-reg"]`), "已验证") {
		t.Fatalf("after switching to Chinese: lang %q, h1 %q", lang, h)
	}
	if cell := text(t, b, "#timeline tbody tr td"); !strings.Contains(cell, "年") {
		t.Fatalf("time not in the Chinese format: %q", cell)
	}
	screenshot(t, b, "6-chinese")
	run(t, b, "switch back", chromedp.Click(chromedp.ID("lang")))
	if h := text(t, b, "h1"); h != "Who looked me up?" {
		t.Fatalf("after switching back: %q", h)
	}
}

// Key loss: the registrar revokes the subject's certificate (`subject
// revoke-cert`, published with the next registry). The bank's query under
// a consent signed with that certificate is refused subject_cert_invalid,
// and the portal shows the certificate as revoked, in red.
func TestRevokedSubjectCertInPortal(t *testing.T) {
	f := startFed(t, 0)
	ctx := context.Background()
	bank := f.nodes["bank-a"].Client
	sme := f.smes[0].USCC
	tok, _, err := devnet.GrantConsent(f.subj, "bank-a", "loan_approval", []string{"tax_payment"}, []string{"tax-dept"}, time.Hour, 3)
	if err != nil {
		t.Fatal(err)
	}
	q := peer.Query{Provider: "tax-dept", Subject: sme, Purpose: "loan_approval", Categories: []string{"tax_payment"}, Consent: tok}
	if _, err := bank.Query(ctx, q); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	page := f.publicURL("bank-a") + "/portal/"
	run(t, b, "open the portal", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
	importKey(t, b, f.subj)
	if c := attr(t, b, "#cert-state", "class"); c != "mark-ok" {
		t.Fatalf("certificate shown %q before revocation: %s", c, text(t, b, "#cert-state"))
	}

	var claims struct {
		ID string `json:"jti"`
	}
	raw, _ := json.Marshal(payloadOf(t, string(f.subj.Cert)))
	if err := json.Unmarshal(raw, &claims); err != nil || claims.ID == "" {
		t.Fatalf("certificate id: %v", err)
	}
	if err := node.RevokeSubjectCert(f.net.NodeDir("market-reg"), claims.ID); err != nil {
		t.Fatal(err)
	}
	f.resign(t)

	_, err = bank.Query(ctx, q)
	var we *schemas.Error
	if !errors.As(err, &we) || we.Code != schemas.CodeSubjectCertInvalid || !strings.Contains(we.Message+fmt.Sprint(we.Err), "revoked") {
		t.Fatalf("query under a revoked certificate: %v", err)
	}
	run(t, b, "reload the portal", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
	if c, s := attr(t, b, "#cert-state", "class"), text(t, b, "#cert-state"); c != "mark-bad" || !strings.Contains(s, "revoked") {
		t.Fatalf("revoked certificate shown as %q: %s", c, s)
	}
}

// A subject without a key file creates one in the browser (non-extractable
// from the start), hands the enrolment request (its public JWK) to the
// registrar, which certifies it as `subject enrol --pub` does, imports the
// certificate alone, and reads its verified log with that key.
func TestKeyCreatedInBrowserAndEnrolled(t *testing.T) {
	f := startFed(t, 0)
	ctx := context.Background()
	sme := f.smes[1].USCC
	if _, err := f.nodes["bank-a"].Client.Query(ctx, peer.Query{Provider: "tax-dept", Subject: sme, Purpose: "loan_approval", Categories: []string{"tax_payment"}}); err == nil {
		t.Fatal("query without consent answered")
	}
	f.commit(t, "tax-dept")

	b := newBrowser(t)
	run(t, b, "open the portal", chromedp.Navigate(f.publicURL("bank-a")+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="yes"]`)))
	run(t, b, "create a key", chromedp.Click(chromedp.ID("generate")), chromedp.WaitVisible(chromedp.ID("enrol")))
	request := get(t, b, "enrolment request", chromedp.Value(chromedp.ID("enrol-request")))
	extractable := get(t, b, "is the key extractable", chromedp.Evaluate[bool](`(async () => {
		const d = await new Promise((ok) => { const r = indexedDB.open('creditnode-portal', 1); r.onsuccess = () => ok(r.result); });
		const k = await new Promise((ok) => { const g = d.transaction('identity').objectStore('identity').get('pending'); g.onsuccess = () => ok(g.result); });
		return k.privateKey.extractable;
	})()`, chromedp.EvalAwaitPromise))
	if extractable {
		t.Fatal("the key created in the browser is extractable")
	}

	// The registrar, after its identity check: `subject enrol --pub`.
	pub, _, err := keys.ParseSigningJWK([]byte(request))
	if err != nil {
		t.Fatalf("enrolment request %q: %v", request, err)
	}
	nk, err := keys.Load(f.net.NodeDir("market-reg"))
	if err != nil {
		t.Fatal(err)
	}
	id, typ, err := records.NormalizeSubject(sme)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := consent.IssueSubjectCert(nk.Signer, "market-reg", nk.SigningKID, id, typ, pub, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "subject.cert")
	if err := os.WriteFile(certFile, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, b, "import the certificate",
		chromedp.SetUploadFiles(chromedp.ID("key-files"), []string{certFile}),
		chromedp.Click(chromedp.ID("import")),
		chromedp.WaitVisible(chromedp.ID("has-key")))
	if s := text(t, b, "#subject"); s != sme {
		t.Fatalf("subject shown %q, want %q", s, sme)
	}
	li := `#providers li[data-provider="tax-dept"]`
	run(t, b, "read", chromedp.Click(chromedp.ID("read")), chromedp.WaitVisible(chromedp.CSS(li)))
	if st := attr(t, b, li, "data-state"); st != "verified" {
		t.Fatalf("tax-dept %s: %s", st, text(t, b, li))
	}
	rows := get(t, b, "timeline rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#timeline tbody tr')].map(r => r.dataset.provider + '|' + r.textContent)`))
	if !slices.ContainsFunc(rows, func(r string) bool {
		return strings.HasPrefix(r, "tax-dept|") && strings.Contains(r, "consent_missing")
	}) {
		t.Fatalf("timeline: %v", rows)
	}
}
