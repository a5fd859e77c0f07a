package reports

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

const testSubject = "91330106MA10000095"

var testNow = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// member is a test member's signing key.
type member struct {
	priv ed25519.PrivateKey
	kid  string
}

func newMember(t testing.TB) member {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return member{priv: priv, kid: keys.SigningKID(priv.Public().(ed25519.PublicKey))}
}

// testKeys is a registry's key look-up.
type testKeys map[string]member

func (k testKeys) SigningKey(id, kid string) (ed25519.PublicKey, bool) {
	m, ok := k[id]
	if !ok || m.kid != kid {
		return nil, false
	}
	return m.priv.Public().(ed25519.PublicKey), true
}

func negative(cat string) bool { return cat == "administrative_penalty" }

// world holds an assembler (bank-a) and two providers.
type world struct {
	keys testKeys
	// recs are the records each provider holds for testSubject, by category.
	recs map[string][]schemas.RecordOut
	// mutate, if set, changes a response before its provider signs it.
	mutate func(*schemas.QueryResponse)
	now    time.Time
}

func newWorld(t testing.TB) *world {
	return &world{
		keys: testKeys{"bank-a": newMember(t), "tax-dept": newMember(t), "market-reg": newMember(t), "rogue": newMember(t)},
		recs: map[string][]schemas.RecordOut{
			"tax-dept": {
				{Category: "tax_payment", ID: "tax-2025", Data: json.RawMessage(`{"arrears":0,"year":2025}`)},
				{Category: "tax_payment", ID: "tax-2024", Data: json.RawMessage(`{"arrears":1200,"year":2024}`)},
			},
			"market-reg": {{Category: "registration", ID: "reg", Data: json.RawMessage(`{"name":"Lianhe"}`)}},
		},
		now: testNow,
	}
}

// respond is what provider would sign in answer to q from bank-a.
func (w *world) respond(t testing.TB, provider string, q peer.Query) []byte {
	t.Helper()
	fields := map[string][]string{}
	var out []schemas.RecordOut
	for _, c := range q.Categories {
		fields[c] = []string{"year"}
		for _, r := range w.recs[provider] {
			if r.Category == c {
				out = append(out, r)
			}
		}
	}
	digest, err := inquirylog.RecordsDigest(out)
	if err != nil {
		t.Fatal(err)
	}
	resp := schemas.QueryResponse{
		RequestID: peer.NewRequestID(), Issuer: provider, Audience: "bank-a", IssuedAt: w.now.Unix(),
		Subject: q.Subject, Purpose: q.Purpose,
		Decision: schemas.Decision{ID: "d1", PolicyRevision: "r1", Allow: true, Reasons: []string{"consent"}, Fields: fields},
		Records:  out,
		Receipt:  schemas.Receipt{Provider: provider, LogIndex: 7, LeafHash: strings.Repeat("ab", 32), RecordsDigest: digest},
	}
	if w.mutate != nil {
		w.mutate(&resp)
	}
	return w.sign(t, provider, schemas.TypResponse, resp)
}

func (w *world) sign(t testing.TB, signer, typ string, v any) []byte {
	t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	m := w.keys[signer]
	tok, err := jose.Sign(m.priv, m.kid, typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// querier answers as the providers would, keeping the signed response.
type querier struct {
	t testing.TB
	w *world
}

func (q querier) Query(_ context.Context, pq peer.Query) (*peer.Result, error) {
	if _, ok := q.w.recs[pq.Provider]; !ok {
		return nil, schemas.Errorf(schemas.CodeConsentMissing, "denied")
	}
	signed := q.w.respond(q.t, pq.Provider, pq)
	payload, _, err := jose.Verify(signed, schemas.TypResponse, q.w.keys[pq.Provider].priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	var r schemas.QueryResponse
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, err
	}
	return &peer.Result{Response: r, Signed: signed}, nil
}

func (w *world) assembler(t testing.TB) *Assembler {
	t.Helper()
	m := w.keys["bank-a"]
	a, err := NewAssembler(AssemblerOptions{ID: "bank-a", Signer: m.priv, KID: m.kid, Querier: querier{t, w},
		Negative: negative, Clock: func() time.Time { return w.now }})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (w *world) build(t testing.TB) ([]byte, *schemas.ReportClaims) {
	t.Helper()
	tok, c, err := w.assembler(t).Build(context.Background(), Request{
		Subject: strings.ToLower(testSubject), Purpose: "loan_approval", Consent: "consent",
		Parts: []PartRequest{
			{Provider: "tax-dept", Categories: []string{"tax_payment"}},
			{Provider: "market-reg", Categories: []string{"registration", "administrative_penalty"}},
		},
		ValidFor: 7 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok, c
}

func TestBuildAndVerify(t *testing.T) {
	w := newWorld(t)
	tok, built := w.build(t)
	rep, err := Verify(tok, w.keys, testNow.Add(time.Hour), negative)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	c := rep.Claims
	if c.Issuer != "bank-a" || c.Subject != testSubject || c.Purpose != "loan_approval" || c.SubjectType != schemas.SubjectEnterprise {
		t.Fatalf("claims: %+v", c)
	}
	if c.Expiry-c.NotBefore != 7*24*3600 || c.ID != built.ID {
		t.Fatalf("validity %d..%d", c.NotBefore, c.Expiry)
	}
	wantCov := []schemas.ReportCoverage{
		{Provider: "market-reg", Categories: []string{"administrative_penalty", "registration"}},
		{Provider: "tax-dept", Categories: []string{"tax_payment"}},
	}
	if !slices.EqualFunc(c.Coverage, wantCov, equalCoverage) {
		t.Fatalf("coverage %+v", c.Coverage)
	}
	wantSum := []schemas.ReportCount{
		{Category: "administrative_penalty", Negative: true, Records: 0},
		{Category: "registration", Records: 1},
		{Category: "tax_payment", Records: 2},
	}
	if !slices.Equal(c.Summary, wantSum) {
		t.Fatalf("summary %+v", c.Summary)
	}
	if rep.NegativeRecords() != 0 || len(rep.Parts) != 2 || len(rep.Parts[1].Records) != 2 {
		t.Fatalf("parts: %d negative, %d parts", rep.NegativeRecords(), len(rep.Parts))
	}
}

func TestVerifyValidityWindow(t *testing.T) {
	w := newWorld(t)
	tok, c := w.build(t)
	exp := time.Unix(c.Expiry, 0)
	for _, tc := range []struct {
		name string
		at   time.Time
		want error
	}{
		{"at issue", testNow, nil},
		{"just before expiry", exp.Add(-time.Second), nil},
		{"at expiry", exp, ErrExpired},
		{"after expiry", exp.Add(time.Hour), ErrExpired},
		{"within skew before nbf", testNow.Add(-Skew + time.Second), nil},
		{"before nbf", testNow.Add(-Skew - time.Second), ErrNotYetValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tok, w.keys, tc.at, negative)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// claimsOf decodes a report token's claims without verifying.
func claimsOf(t testing.TB, tok []byte) schemas.ReportClaims {
	t.Helper()
	seg := strings.Split(string(tok), ".")[1]
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var c schemas.ReportClaims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTampering changes a built report in the ways an assembler, a holder or
// a forger could, re-signing where the attacker holds a key.
func TestTampering(t *testing.T) {
	w := newWorld(t)
	tok, _ := w.build(t)
	at := testNow.Add(time.Minute)

	resign := func(signer string, f func(*schemas.ReportClaims)) []byte {
		c := claimsOf(t, tok)
		f(&c)
		return w.sign(t, signer, schemas.TypReport, c)
	}
	otherPart := func(f func(*schemas.QueryResponse)) string {
		w.mutate = f
		defer func() { w.mutate = nil }()
		return string(w.respond(t, "tax-dept", peer.Query{Subject: testSubject, Purpose: "loan_approval", Categories: []string{"tax_payment"}}))
	}
	flip := func(b []byte, i int) []byte {
		b = slices.Clone(b)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return b
	}
	dot := strings.Index(string(tok), ".")

	cases := []struct {
		name string
		tok  []byte
		want error
	}{
		{"payload edited, signature kept", func() []byte {
			c := claimsOf(t, tok)
			c.Summary[0].Records = 0
			c.Purpose = "self_query"
			b, _ := json.Marshal(c)
			seg := strings.Split(string(tok), ".")
			return []byte(seg[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + seg[2])
		}(), ErrSignature},
		{"flipped header byte", flip(tok, dot-3), ErrMalformed},
		{"flipped signature byte", flip(tok, len(tok)-5), ErrSignature},
		{"signed by a rogue member's key", resign("rogue", func(c *schemas.ReportClaims) {}), ErrSignature},
		{"claims another issuer, signed by rogue", resign("rogue", func(c *schemas.ReportClaims) { c.Issuer = "bank-a" }), ErrSignature},
		{"assembler extends validity beyond the maximum", resign("bank-a", func(c *schemas.ReportClaims) { c.Expiry = c.NotBefore + 91*24*3600 }), ErrMalformed},
		{"assembler drops a part", resign("bank-a", func(c *schemas.ReportClaims) { c.Parts = c.Parts[:1] }), ErrCoverage},
		{"assembler claims extra coverage", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Coverage[1].Categories = append(c.Coverage[1].Categories, "social_insurance")
		}), ErrCoverage},
		{"assembler hides a record count", resign("bank-a", func(c *schemas.ReportClaims) { c.Summary[2].Records = 1 }), ErrSummary},
		{"assembler marks a negative category clean", resign("bank-a", func(c *schemas.ReportClaims) { c.Summary[0].Negative = false }), ErrSummary},
		{"assembler edits a provider's record", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[1].Response = strings.Replace(c.Parts[1].Response, ".", ".e", 1)
		}), ErrSignature},
		{"part attributed to another provider", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[0].Response = c.Parts[1].Response
		}), ErrSignature},
		{"part about another subject", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[1].Response = otherPart(func(r *schemas.QueryResponse) { r.Subject = "91440305MA10031463" })
		}), ErrPart},
		{"part for another purpose", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[1].Response = otherPart(func(r *schemas.QueryResponse) { r.Purpose = "joint_modeling" })
		}), ErrPart},
		{"part addressed to another requester", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[1].Response = otherPart(func(r *schemas.QueryResponse) { r.Audience = "bank-b" })
		}), ErrPart},
		{"stale part", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[1].Response = otherPart(func(r *schemas.QueryResponse) { r.IssuedAt -= int64((MaxPartAge + time.Second) / time.Second) })
		}), ErrPart},
		{"part whose records miss their receipt digest", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[1].Response = otherPart(func(r *schemas.QueryResponse) { r.Records = r.Records[:1] })
		}), ErrPart},
		{"denied part", resign("bank-a", func(c *schemas.ReportClaims) {
			c.Parts[1].Response = otherPart(func(r *schemas.QueryResponse) { r.Decision.Allow = false })
		}), ErrPart},
		{"duplicated provider", resign("bank-a", func(c *schemas.ReportClaims) { c.Parts = append(c.Parts, c.Parts[0]) }), ErrMalformed},
		{"a response token passed as a report", []byte(claimsOf(t, tok).Parts[0].Response), ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.tok, w.keys, at, negative)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBuildRefusals(t *testing.T) {
	w := newWorld(t)
	a := w.assembler(t)
	ctx := context.Background()
	part := []PartRequest{{Provider: "tax-dept", Categories: []string{"tax_payment"}}}
	for _, tc := range []struct {
		name string
		req  Request
		want error
	}{
		{"no parts", Request{Subject: testSubject, Purpose: "loan_approval"}, ErrRequest},
		{"too long", Request{Subject: testSubject, Purpose: "loan_approval", Parts: part, ValidFor: MaxValidity + time.Hour}, ErrRequest},
		{"bad subject", Request{Subject: "91330106MA10000096", Purpose: "loan_approval", Parts: part}, ErrRequest},
		{"provider twice", Request{Subject: testSubject, Purpose: "loan_approval", Parts: append(part, part...)}, ErrRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := a.Build(ctx, tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A refused part fails the whole build with the provider's code.
	_, _, err := a.Build(ctx, Request{Subject: testSubject, Purpose: "loan_approval",
		Parts: append(part, PartRequest{Provider: "customs", Categories: []string{"customs"}})})
	if schemas.CodeOf(err) != schemas.CodeConsentMissing {
		t.Fatalf("refused part: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	w := newWorld(f)
	tok, _ := w.build(f)
	f.Add(tok)
	f.Add([]byte("a.b.c"))
	f.Add([]byte(claimsOf(f, tok).Parts[0].Response))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Verify(b, w.keys, testNow, negative)
		if err == nil && (rep == nil || len(rep.Parts) != len(rep.Claims.Parts)) {
			t.Fatal("accepted report without its parts")
		}
	})
}
