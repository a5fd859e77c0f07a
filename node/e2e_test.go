package node_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

// The demo's cases, end to end over real loopback TLS servers.
func TestDemoFlow(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	tok, consentID := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 5)
	q := f.loanQuery(tok)

	// 1. Authorised query: allowed, minimised, receipt, outbound log.
	id := peer.NewRequestID()
	signed, err := f.bank().Sign(q, id)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.bank().Send(ctx, q, id, signed)
	if err != nil {
		t.Fatalf("authorised query: %v", err)
	}
	r := res.Response
	if !r.Decision.Allow || r.RequestID != id || r.Issuer != "tax-dept" || r.Audience != "bank-a" {
		t.Fatalf("bad response header: %+v", r)
	}
	if len(r.Records) != 3 { // two tax years, one social-insurance month
		t.Fatalf("got %d records, want 3", len(r.Records))
	}
	for _, rec := range r.Records {
		if containsKey(rec.Data, "declared_revenue") || containsKey(rec.Data, "contribution_base") {
			t.Errorf("field outside the allowed list left the provider: %s %s", rec.Category, rec.Data)
		}
		if !containsKey(rec.Data, "arrears") {
			t.Errorf("allowed field missing: %s %s", rec.Category, rec.Data)
		}
	}
	out, err := f.nodes["bank-a"].Store.OutboundLogSize(ctx)
	if err != nil || out != 2 {
		t.Fatalf("outbound log size %d (%v), want 2 (sent + receipt)", out, err)
	}

	// 2. Without consent.
	noConsent := q
	noConsent.Consent = ""
	_, err = f.bank().Query(ctx, noConsent)
	if c := codeOf(t, err); c != schemas.CodeConsentMissing {
		t.Fatalf("without consent: %s, want consent_missing", c)
	}

	// 3. Replay of the first request's exact bytes.
	_, err = f.bank().Send(ctx, q, id, signed)
	if c := codeOf(t, err); c != schemas.CodeReplay {
		t.Fatalf("replay: %s", c)
	}

	// 4. Revocation, then a fresh query with the revoked consent.
	sc := f.subjectClient(t, f.subj)
	if _, err := sc.Revoke(ctx, f.publicURL("tax-dept"), "tax-dept", consentID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	_, err = f.bank().Query(ctx, q)
	if c := codeOf(t, err); c != schemas.CodeConsentRevoked {
		t.Fatalf("after revocation: %s", c)
	}

	// 5. The subject reads its log: all four queries, each with its decision.
	log, err := sc.Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log.Entries {
		if e.Entry.Subject != f.subj.ID {
			t.Errorf("entry %d of another subject returned", e.Index)
		}
		if e.Entry.Kind == schemas.KindQuery {
			got = append(got, e.Entry.Decision+":"+string(e.Entry.Code))
		}
	}
	want := []string{"allow:", "deny:consent_missing", "deny:replay", "deny:consent_revoked"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("subject log queries = %v, want %v", got, want)
	}
	if log.Entries[0].Entry.RecordsDigest != r.Receipt.RecordsDigest {
		t.Error("log entry digest differs from the receipt the requester holds")
	}
}

// Another subject sees only its own entries; a subject certificate signed by
// a member that is not a registrar is refused (threats.md item 29).
func TestSubjectLogIsolation(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 2)
	q := f.loanQuery(tok)
	q.Categories = []string{"tax_payment"}
	if _, err := f.bank().Query(ctx, q); err != nil {
		t.Fatal(err)
	}
	other, err := f.net.EnrolSubject("market-reg", f.smes[1].USCC)
	if err != nil {
		t.Fatal(err)
	}
	log, err := f.subjectClient(t, other).Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log.Entries {
		if e.Entry.Subject != other.ID || e.Entry.Kind == schemas.KindQuery {
			t.Fatalf("subject %s was shown entry %d about %s (%s)", other.ID, e.Index, e.Entry.Subject, e.Entry.Kind)
		}
	}

	// A certificate for smes[0] issued by bank-a, which is not a registrar.
	forged := forgeSubject(t, f, "bank-a", f.smes[0].USCC)
	_, err = f.subjectClient(t, forged).Inquiries(ctx, f.publicURL("tax-dept"), "tax-dept")
	if c := codeOf(t, err); c != schemas.CodeSubjectCertInvalid {
		t.Fatalf("forged subject certificate: %s", c)
	}
}

func forgeSubject(t *testing.T, f *fed, issuer, subject string) *devnet.Subject {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	iss := f.nodes[issuer]
	cert, err := consent.IssueSubjectCert(iss.Keys.Signer, issuer, iss.Keys.SigningKID, subject, schemas.SubjectEnterprise,
		priv.Public().(ed25519.PublicKey), time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &devnet.Subject{ID: subject, Key: priv, Cert: cert}
}

// The same signed request sent concurrently over separate connections is
// answered exactly once (threats.md item 11).
func TestConcurrentDuplicateRequests(t *testing.T) {
	f := startFed(t)
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 100)
	q := f.loanQuery(tok)
	id := peer.NewRequestID()
	signed, err := f.bank().Sign(q, id)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	codes := make([]schemas.Code, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A fresh client per goroutine: its own TLS connection.
			c, err := peer.New(peerOptions(f, "bank-a"))
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.Send(context.Background(), q, id, signed); err != nil {
				codes[i] = codeOf(t, err)
			} else {
				codes[i] = "ok"
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case "ok":
			ok++
		case schemas.CodeReplay:
		default:
			t.Errorf("unexpected outcome %q", c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent duplicates were answered, want exactly 1", ok, n)
	}
	if got := f.logSize(t, "tax-dept"); got != n {
		t.Fatalf("inquiry log has %d entries, want %d (one per attempt)", got, n)
	}
}

// Consent failures (threats.md item 17).
func TestConsentAttacks(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	grant := func(c schemas.ConsentClaims) string {
		t.Helper()
		now := time.Now()
		if c.Expiry != 0 && c.Expiry < now.Unix() {
			now = time.Unix(c.NotBefore, 0) // grant it back then, so it has expired by now
		}
		if c.Requester == "" {
			c.Requester = "bank-a"
		}
		if c.Purpose == "" {
			c.Purpose = "loan_approval"
		}
		if c.Categories == nil {
			c.Categories = []string{"tax_payment"}
		}
		if c.Providers == nil {
			c.Providers = []string{"tax-dept"}
		}
		if c.NotBefore == 0 {
			c.NotBefore = now.Add(-time.Hour).Unix()
		}
		if c.Expiry == 0 {
			c.Expiry = now.Add(time.Hour).Unix()
		}
		if c.MaxUses == 0 {
			c.MaxUses = 5
		}
		tok, err := consent.Grant(f.subj.Key, f.subj.Cert, c, now)
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	query := func(tok string) error {
		q := f.loanQuery(tok)
		q.Categories = []string{"tax_payment"}
		_, err := f.bank().Query(ctx, q)
		return err
	}
	past := time.Now().Add(-48 * time.Hour)
	cases := []struct {
		name   string
		claims schemas.ConsentClaims
		want   schemas.Code
	}{
		{"expired", schemas.ConsentClaims{NotBefore: past.Unix(), Expiry: past.Add(time.Hour).Unix()}, schemas.CodeConsentExpired},
		{"not yet valid", schemas.ConsentClaims{NotBefore: time.Now().Add(time.Hour).Unix(), Expiry: time.Now().Add(2 * time.Hour).Unix()}, schemas.CodeConsentNotYetValid},
		{"other purpose", schemas.ConsentClaims{Purpose: "guarantee_review"}, schemas.CodeConsentWrongPurpose},
		{"other requester", schemas.ConsentClaims{Requester: "market-reg"}, schemas.CodeConsentWrongRequester},
		{"other categories", schemas.ConsentClaims{Categories: []string{"social_insurance"}}, schemas.CodeConsentWrongCategory},
		{"other provider", schemas.ConsentClaims{Providers: []string{"market-reg"}}, schemas.CodeConsentWrongProvider},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.claims.Subject = f.subj.ID
			if c := codeOf(t, query(grant(tc.claims))); c != tc.want {
				t.Fatalf("got %s, want %s", c, tc.want)
			}
		})
	}
	t.Run("used more often than allowed", func(t *testing.T) {
		tok := grant(schemas.ConsentClaims{Subject: f.subj.ID, MaxUses: 2})
		for i := 0; i < 2; i++ {
			if err := query(tok); err != nil {
				t.Fatalf("use %d: %v", i+1, err)
			}
		}
		if c := codeOf(t, query(tok)); c != schemas.CodeConsentExhausted {
			t.Fatalf("third use: %s", c)
		}
	})
	t.Run("another subject's consent", func(t *testing.T) {
		other, err := f.net.EnrolSubject("market-reg", f.smes[1].USCC)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := devnet.GrantConsent(other, "bank-a", "loan_approval", []string{"tax_payment"}, []string{"tax-dept"}, time.Hour, 3)
		if err != nil {
			t.Fatal(err)
		}
		if c := codeOf(t, query(tok)); c != schemas.CodeConsentWrongSubject {
			t.Fatalf("got %s", c)
		}
	})
	t.Run("consent signed by a key the certificate does not bind", func(t *testing.T) {
		good := grant(schemas.ConsentClaims{Subject: f.subj.ID})
		parts := strings.Split(good, ".")
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged, err := jose.Sign(stranger, headerKID(t, good), schemas.TypConsent, payload)
		if err != nil {
			t.Fatal(err)
		}
		if c := codeOf(t, query(string(forged))); c != schemas.CodeConsentInvalid {
			t.Fatalf("got %s", c)
		}
	})
}

func headerKID(t *testing.T, tok string) string {
	t.Helper()
	h, err := jose.ParseJWSHeader([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	return h.KeyID
}

// Token and message attacks at the wire (threats.md items 1–10, 12): each is
// refused with its code, logged, and lets nothing out.
func TestWireAttacks(t *testing.T) {
	f := startFed(t)
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 50)
	valid := f.signQuery(t, f.claims(tok))
	parts := strings.Split(string(valid), ".")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	bank := f.nodes["bank-a"]
	kid := bank.Keys.SigningKID

	hmacKeyConfusion := func() []byte {
		// HS256 with the bank's public key bytes as the HMAC secret.
		h := b64(`{"alg":"HS256","kid":"` + kid + `","typ":"cx-query+jws"}`)
		return []byte(h + "." + parts[1] + "." + b64(strings.Repeat("x", 32)))
	}
	jweInstead := func() []byte {
		tax := f.nodes["tax-dept"]
		enc, err := jose.Encrypt([]byte(valid), tax.Keys.Encryption.PublicKey(), tax.Keys.EncryptionKID, schemas.TypQuery)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	withClaims := func(mut func(*schemas.QueryClaims)) []byte {
		c := f.claims(tok)
		mut(&c)
		return f.signQuery(t, c)
	}
	skew := f.nodes["tax-dept"].Config.ClockSkew.D()
	cases := []struct {
		name string
		body []byte
		want schemas.Code
	}{
		{"alg none", []byte(b64(`{"alg":"none","kid":"`+kid+`","typ":"cx-query+jws"}`) + "." + parts[1] + "."), schemas.CodeBadSignature},
		{"alg noNE with signature", []byte(b64(`{"alg":"noNE","kid":"`+kid+`","typ":"cx-query+jws"}`) + "." + parts[1] + "." + parts[2]), schemas.CodeBadSignature},
		{"empty signature", []byte(parts[0] + "." + parts[1] + "."), schemas.CodeBadSignature},
		{"HMAC key confusion", hmacKeyConfusion(), schemas.CodeBadSignature},
		{"embedded jwk", []byte(b64(`{"alg":"EdDSA","kid":"`+kid+`","typ":"cx-query+jws","jwk":{"kty":"OKP"}}`) + "." + parts[1] + "." + parts[2]), schemas.CodeBadSignature},
		{"jku", []byte(b64(`{"alg":"EdDSA","kid":"`+kid+`","typ":"cx-query+jws","jku":"https://evil.example/k"}`) + "." + parts[1] + "." + parts[2]), schemas.CodeBadSignature},
		{"kid path traversal", []byte(b64(`{"alg":"EdDSA","kid":"../../etc/passwd","typ":"cx-query+jws"}`) + "." + parts[1] + "." + parts[2]), schemas.CodeBadSignature},
		{"kid SQL", []byte(b64(`{"alg":"EdDSA","kid":"x' OR '1'='1","typ":"cx-query+jws"}`) + "." + parts[1] + "." + parts[2]), schemas.CodeBadSignature},
		{"kid 10KB", []byte(b64(`{"alg":"EdDSA","kid":"`+strings.Repeat("a", 10240)+`","typ":"cx-query+jws"}`) + "." + parts[1] + "." + parts[2]), schemas.CodeBadSignature},
		{"unknown crit", []byte(b64(`{"alg":"EdDSA","kid":"`+kid+`","typ":"cx-query+jws","crit":["exp"]}`) + "." + parts[1] + "." + parts[2]), schemas.CodeBadSignature},
		{"JSON serialization", []byte(`{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`), schemas.CodeMalformedRequest},
		{"missing part", []byte(parts[0] + "." + parts[1]), schemas.CodeMalformedRequest},
		{"extra part", []byte(string(valid) + ".x"), schemas.CodeMalformedRequest},
		{"non-canonical base64 signature", []byte(parts[0] + "." + parts[1] + "." + parts[2] + "="), schemas.CodeMalformedRequest},
		{"JWE where a JWS is expected", jweInstead(), schemas.CodeMalformedRequest},
		{"consent token as a query (typ)", []byte(tok), schemas.CodeBadSignature},
		{"wrong audience (token for another node)", withClaims(func(c *schemas.QueryClaims) { c.Audience = "market-reg" }), schemas.CodeWrongAudience},
		{"issuer is not the TLS peer", withClaims(func(c *schemas.QueryClaims) { c.Issuer = "market-reg" }), schemas.CodeIdentityMismatch},
		{"issued-at past the skew", withClaims(func(c *schemas.QueryClaims) { c.IssuedAt = time.Now().Add(-skew - 2*time.Second).Unix() }), schemas.CodeClockSkew},
		{"issued-at in the future past the skew", withClaims(func(c *schemas.QueryClaims) { c.IssuedAt = time.Now().Add(skew + 2*time.Second).Unix() }), schemas.CodeClockSkew},
		{"unknown purpose", withClaims(func(c *schemas.QueryClaims) { c.Purpose = "marketing" }), schemas.CodePurposeUnknown},
		{"bad subject", withClaims(func(c *schemas.QueryClaims) { c.Subject = "91330106MA10000096" }), schemas.CodeMalformedRequest},
		{"garbage", []byte("\x00\xff not a token"), schemas.CodeMalformedRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.logSize(t, "tax-dept")
			status, eb := f.raw(t, tc.body)
			if status == http.StatusOK {
				t.Fatal("attack was answered with data")
			}
			if eb.Error.Code != tc.want {
				t.Fatalf("code %s (%s), want %s", eb.Error.Code, eb.Error.Message, tc.want)
			}
			if status != tc.want.Status() {
				t.Errorf("HTTP %d, want %d", status, tc.want.Status())
			}
			if eb.Error.LogIndex == nil || f.logSize(t, "tax-dept") != before+1 {
				t.Error("the attempt was not logged")
			}
		})
	}
	t.Run("issued-at just inside the skew is accepted", func(t *testing.T) {
		status, eb := f.raw(t, withClaims(func(c *schemas.QueryClaims) { c.IssuedAt = time.Now().Add(-skew + 2*time.Second).Unix() }))
		if status != http.StatusOK {
			t.Fatalf("status %d %s", status, eb.Error.Code)
		}
	})
}

// A body over the limit is refused before parsing (threats.md item 28).
func TestBodyTooLarge(t *testing.T) {
	f := startFed(t)
	status, eb := f.raw(t, []byte(strings.Repeat("a", 2<<20)))
	if status != http.StatusRequestEntityTooLarge || eb.Error.Code != schemas.CodeBodyTooLarge {
		t.Fatalf("status %d code %s", status, eb.Error.Code)
	}
}

// If the log cannot be appended, the request fails closed and no data leaves.
func TestFailClosedWhenLogUnavailable(t *testing.T) {
	f := startFed(t)
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 5)
	f.nodes["tax-dept"].Store.Close()
	status, eb := f.raw(t, f.signQuery(t, f.claims(tok)))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status)
	}
	if eb.Error.Code != schemas.CodeLogUnavailable && eb.Error.Code != schemas.CodeStoreUnavailable {
		t.Fatalf("code %s, want log_unavailable or store_unavailable", eb.Error.Code)
	}
	if eb.Error.LogIndex != nil {
		t.Fatal("claims to have logged with the log down")
	}
}

// Transport (threats.md item 27): a client certificate from the CA that is not
// registered is refused in the handshake, and a member removed from the
// registry is refused on its next connection, resumed or not.
func TestTransportBinding(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 50)
	q := f.loanQuery(tok)
	q.Categories = []string{"tax_payment"}

	certPEM, keyPEM, err := f.net.CA.IssueNode("intruder", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: f.net.CA.Pool(), MinVersion: tls.VersionTLS12,
	}}}
	resp, err := hc.Post(memberURL(f, "tax-dept")+"/v1/query", schemas.ContentTypeJOSE, strings.NewReader("x"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("unregistered client certificate got HTTP %d", resp.StatusCode)
	}

	old := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: f.net.CA.Pool(), MaxVersion: tls.VersionTLS11}
	if c, err := tls.Dial("tcp", hostPort(memberURL(f, "tax-dept")), old); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake accepted")
	}

	if _, err := f.bank().Query(ctx, q); err != nil {
		t.Fatalf("before removal: %v", err)
	}
	// The authority drops bank-a; the provider picks up the new registry.
	if err := f.net.SignRegistry(func(r *schemas.Registry) {
		kept := r.Members[:0]
		for _, m := range r.Members {
			if m.ID != "bank-a" {
				kept = append(kept, m)
			}
		}
		r.Members = kept
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.nodes["tax-dept"].Registry.Poll(); err != nil {
		t.Fatal(err)
	}
	// A fresh client of bank-a (its own registry still lists itself) with a
	// session cache primed before removal would resume; either way the
	// provider's VerifyConnection refuses the now unregistered certificate.
	status, _, err := f.bank().SendRaw(ctx, "tax-dept", "/v1/query", f.signQuery(t, f.claims(tok)))
	if err == nil && status == http.StatusOK {
		t.Fatal("removed member still answered")
	}
}

func memberURL(f *fed, id string) string {
	m, _ := f.nodes["bank-a"].Registry.Current().Member(id)
	return m.Endpoint
}

func peerOptions(f *fed, id string) peer.Options {
	nd := f.nodes[id]
	cert, err := tls.LoadX509KeyPair(nd.Config.Path(nd.Config.TLS.Cert), nd.Config.Path(nd.Config.TLS.Key))
	if err != nil {
		panic(err)
	}
	return peer.Options{ID: id, Keys: nd.Keys, Registries: clientRegs{f, id}, Log: nd.Store, Certificate: cert, CAs: f.net.CA.Pool(), Logger: quietLogger()}
}

type clientRegs struct {
	f  *fed
	id string
}

func (c clientRegs) Snapshot(time.Time) (peer.Registry, error) {
	return c.f.nodes[c.id].Registry.Current(), nil
}
