package approval_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/approval"
	"github.com/creditexchange/node/schemas"
)

const (
	subject   = "91350100M000100Y43"
	skew      = 2 * time.Minute
	regulator = "pboc"
	bank      = "bank-a"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// member is a registry member with one signing key.
type member struct {
	m   schemas.Member
	key ed25519.PrivateKey
	kid string
}

// fakeRegistry is a registry of members by id.
type fakeRegistry map[string]*member

func (r fakeRegistry) Member(id string) (*schemas.Member, bool) {
	m, ok := r[id]
	if !ok {
		return nil, false
	}
	c := m.m
	return &c, true
}

func (r fakeRegistry) SigningKey(id, kid string) (ed25519.PublicKey, bool) {
	m, ok := r[id]
	if !ok || m.kid != kid {
		return nil, false
	}
	return m.key.Public().(ed25519.PublicKey), true
}

func newMember(t testing.TB, id string, roles ...string) *member {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &member{m: schemas.Member{ID: id, Roles: roles}, key: k, kid: keys.SigningKID(k.Public().(ed25519.PublicKey))}
}

type fixture struct {
	reg   fakeRegistry
	pboc  *member
	other *member // a department: may not issue approvals
}

func newFixture(t testing.TB) *fixture {
	fx := &fixture{pboc: newMember(t, regulator, "regulator"), other: newMember(t, "tax-dept", "department")}
	fx.reg = fakeRegistry{regulator: fx.pboc, "tax-dept": fx.other, bank: newMember(t, bank, "bank")}
	return fx
}

func claims(issuer string) schemas.ApprovalClaims {
	return schemas.ApprovalClaims{Case: "case-2026-17", Issuer: issuer, Subject: strings.ToLower(subject), Requester: bank,
		Purpose: "loan_approval", Categories: []string{"customs"}, Expiry: t0.Add(24 * time.Hour).Unix()}
}

func (fx *fixture) issue(t testing.TB, by *member, c schemas.ApprovalClaims) []byte {
	t.Helper()
	tok, err := approval.Issue(by.key, by.kid, c, t0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sign signs arbitrary claims, bypassing Issue's validation.
func sign(t testing.TB, by *member, typ string, payload []byte) []byte {
	t.Helper()
	tok, err := jose.Sign(by.key, by.kid, typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyValid(t *testing.T) {
	fx := newFixture(t)
	tok := fx.issue(t, fx.pboc, claims(regulator))
	a, err := approval.Verify(tok, fx.reg, t0.Add(time.Hour), skew)
	if err != nil {
		t.Fatal(err)
	}
	if a.Claims.Subject != subject || a.Claims.Case != "case-2026-17" || a.Claims.IssuedAt != t0.Unix() || len(a.Claims.ID) != 32 {
		t.Fatalf("claims %+v", a.Claims)
	}
	if err := a.CheckParties(subject, bank); err != nil {
		t.Fatal(err)
	}
	if got := schemas.CodeOf(a.CheckParties("91110000100000016D", bank)); got != schemas.CodeApprovalWrongSubject {
		t.Fatalf("other subject: %s", got)
	}
	if got := schemas.CodeOf(a.CheckParties(subject, "bank-b")); got != schemas.CodeApprovalWrongRequester {
		t.Fatalf("other requester: %s", got)
	}
}

// TestVerifyWindow pins the boundaries: valid from iat - skew, expired at
// exp + skew.
func TestVerifyWindow(t *testing.T) {
	fx := newFixture(t)
	c := claims(regulator)
	tok := fx.issue(t, fx.pboc, c)
	exp := time.Unix(c.Expiry, 0)
	for _, tc := range []struct {
		name string
		at   time.Time
		code schemas.Code
	}{
		{"at iat - skew", t0.Add(-skew), ""},
		{"before iat - skew", t0.Add(-skew - time.Second), schemas.CodeApprovalNotYetValid},
		{"just before exp + skew", exp.Add(skew - time.Second), ""},
		{"at exp + skew", exp.Add(skew), schemas.CodeApprovalExpired},
		{"long after", exp.Add(48 * time.Hour), schemas.CodeApprovalExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := approval.Verify(tok, fx.reg, tc.at, skew)
			if tc.code == "" && err != nil || tc.code != "" && schemas.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	fx := newFixture(t)
	good := claims(regulator)
	good.ID, good.IssuedAt = "a1", t0.Unix()
	good.Subject = subject
	payload := func(mut func(m map[string]any)) []byte {
		b, _ := json.Marshal(good)
		var m map[string]any
		json.Unmarshal(b, &m)
		mut(m)
		out, _ := json.Marshal(m)
		return out
	}
	valid := fx.issue(t, fx.pboc, claims(regulator))
	flipped := []byte(string(valid))
	flipped[len(flipped)-3] ^= 1
	cases := []struct {
		name string
		tok  []byte
		code schemas.Code
	}{
		{"not a regulator", fx.issue(t, fx.other, claims("tax-dept")), schemas.CodeApprovalNotRegulator},
		{"not a member", sign(t, newMember(t, "ghost", "regulator"), schemas.TypApproval, payload(func(m map[string]any) { m["iss"] = "ghost" })), schemas.CodeApprovalInvalid},
		{"iss names the regulator, key is another member's", sign(t, fx.other, schemas.TypApproval, payload(func(map[string]any) {})), schemas.CodeApprovalInvalid},
		{"iss names a department, key is the regulator's", sign(t, fx.pboc, schemas.TypApproval, payload(func(m map[string]any) { m["iss"] = "tax-dept" })), schemas.CodeApprovalInvalid},
		{"consent type", sign(t, fx.pboc, schemas.TypConsent, payload(func(map[string]any) {})), schemas.CodeApprovalInvalid},
		{"flipped signature", flipped, schemas.CodeApprovalInvalid},
		{"unknown claim", sign(t, fx.pboc, schemas.TypApproval, payload(func(m map[string]any) { m["scope"] = "all" })), schemas.CodeApprovalInvalid},
		{"case-folded claim", sign(t, fx.pboc, schemas.TypApproval, []byte(strings.Replace(string(payload(func(map[string]any) {})), `"requester"`, `"Requester"`, 1))), schemas.CodeApprovalInvalid},
		{"duplicate claim", sign(t, fx.pboc, schemas.TypApproval, []byte(strings.Replace(string(payload(func(map[string]any) {})), `"requester":"bank-a"`, `"requester":"bank-a","requester":"bank-b"`, 1))), schemas.CodeApprovalInvalid},
		{"no case", sign(t, fx.pboc, schemas.TypApproval, payload(func(m map[string]any) { delete(m, "case") })), schemas.CodeApprovalInvalid},
		{"no categories", sign(t, fx.pboc, schemas.TypApproval, payload(func(m map[string]any) { m["categories"] = []string{} })), schemas.CodeApprovalInvalid},
		{"repeated category", sign(t, fx.pboc, schemas.TypApproval, payload(func(m map[string]any) { m["categories"] = []string{"customs", "customs"} })), schemas.CodeApprovalInvalid},
		{"too long", sign(t, fx.pboc, schemas.TypApproval, payload(func(m map[string]any) { m["exp"] = t0.Add(approval.MaxValidity + time.Second).Unix() })), schemas.CodeApprovalInvalid},
		{"exp before iat", sign(t, fx.pboc, schemas.TypApproval, payload(func(m map[string]any) { m["exp"] = t0.Add(-time.Second).Unix() })), schemas.CodeApprovalInvalid},
		{"alg none", []byte("eyJhbGciOiJub25lIiwidHlwIjoiY3gtYXBwcm92YWwrandzIn0." + strings.Split(string(valid), ".")[1] + "."), schemas.CodeApprovalInvalid},
		{"oversized", make([]byte, approval.MaxTokenSize+1), schemas.CodeApprovalInvalid},
		{"empty", nil, schemas.CodeApprovalInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := approval.Verify(tc.tok, fx.reg, t0.Add(time.Minute), skew)
			if got := schemas.CodeOf(err); err == nil || got != tc.code {
				t.Fatalf("got %v (%s), want %s", err, got, tc.code)
			}
			if a != nil {
				t.Fatal("approval returned with an error")
			}
		})
	}
}

// Case ids are case numbers as regulators write them: Chinese characters,
// spaces, parentheses, up to MaxCaseLength characters.
func TestRealCaseNumbers(t *testing.T) {
	fx := newFixture(t)
	for _, id := range []string{
		"京市监罚〔2025〕第12号",
		"Case (2025) No. 7",
		"银保监复〔2026〕17号（补充）",
		"PBOC/2026/17-a",
		strings.Repeat("案", approval.MaxCaseLength),
	} {
		t.Run(id, func(t *testing.T) {
			c := claims(regulator)
			c.Case = id
			a, err := approval.Verify(fx.issue(t, fx.pboc, c), fx.reg, t0.Add(time.Hour), skew)
			if err != nil {
				t.Fatal(err)
			}
			if a.Claims.Case != id {
				t.Fatalf("case %q, want %q", a.Claims.Case, id)
			}
		})
	}
}

func TestIssueRejects(t *testing.T) {
	fx := newFixture(t)
	for name, mut := range map[string]func(*schemas.ApprovalClaims){
		"bad subject":               func(c *schemas.ApprovalClaims) { c.Subject = "91350100M000100Y44" },
		"no purpose":                func(c *schemas.ApprovalClaims) { c.Purpose = "" },
		"expired":                   func(c *schemas.ApprovalClaims) { c.Expiry = t0.Unix() },
		"too long":                  func(c *schemas.ApprovalClaims) { c.Expiry = t0.Add(approval.MaxValidity + time.Hour).Unix() },
		"case with a line break":    func(c *schemas.ApprovalClaims) { c.Case = "case\n1" },
		"case with a tab":           func(c *schemas.ApprovalClaims) { c.Case = "case\t1" },
		"case with a bidi override": func(c *schemas.ApprovalClaims) { c.Case = "case \u202e1" },
		"case with doubled spaces":  func(c *schemas.ApprovalClaims) { c.Case = "case  1" },
		"case with a leading space": func(c *schemas.ApprovalClaims) { c.Case = " case 1" },
		"empty case":                func(c *schemas.ApprovalClaims) { c.Case = "" },
		"case too long":             func(c *schemas.ApprovalClaims) { c.Case = strings.Repeat("案", approval.MaxCaseLength+1) },
		"case not UTF-8":            func(c *schemas.ApprovalClaims) { c.Case = "case \xff" },
	} {
		t.Run(name, func(t *testing.T) {
			c := claims(regulator)
			mut(&c)
			if _, err := approval.Issue(fx.pboc.key, fx.pboc.kid, c, t0); !errors.Is(err, approval.ErrInvalidClaims) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
