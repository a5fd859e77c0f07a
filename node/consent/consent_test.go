package consent_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

func TestGrant(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		edit    func(*schemas.ConsentClaims)
		key     ed25519.PrivateKey
		cert    func() []byte
		now     time.Time
		wantErr error
	}{
		{name: "valid"},
		{name: "explicit subject and jti", edit: func(c *schemas.ConsentClaims) { c.Subject, c.ID = enterpriseA, "my-consent-7" }},
		{name: "no purpose", edit: func(c *schemas.ConsentClaims) { c.Purpose = "" }, wantErr: consent.ErrInvalidClaims},
		{name: "no categories", edit: func(c *schemas.ConsentClaims) { c.Categories = nil }, wantErr: consent.ErrInvalidClaims},
		{name: "empty category", edit: func(c *schemas.ConsentClaims) { c.Categories = []string{""} }, wantErr: consent.ErrInvalidClaims},
		{name: "duplicate category", edit: func(c *schemas.ConsentClaims) { c.Categories = []string{"a", "a"} }, wantErr: consent.ErrInvalidClaims},
		{name: "no requester", edit: func(c *schemas.ConsentClaims) { c.Requester = "" }, wantErr: consent.ErrInvalidClaims},
		{name: "requester with a space", edit: func(c *schemas.ConsentClaims) { c.Requester = "bank a" }, wantErr: consent.ErrInvalidClaims},
		{name: "exp equal to nbf", edit: func(c *schemas.ConsentClaims) { c.Expiry = c.NotBefore }, wantErr: consent.ErrInvalidClaims},
		{name: "exp before nbf", edit: func(c *schemas.ConsentClaims) { c.Expiry = c.NotBefore - 1 }, wantErr: consent.ErrInvalidClaims},
		{name: "already expired", edit: func(c *schemas.ConsentClaims) { c.NotBefore, c.Expiry = t0Unix-20, t0Unix-10 }, wantErr: consent.ErrInvalidClaims},
		{name: "max_uses zero", edit: func(c *schemas.ConsentClaims) { c.MaxUses = 0 }, wantErr: consent.ErrInvalidClaims},
		{name: "another subject than the certificate", edit: func(c *schemas.ConsentClaims) { c.Subject = enterpriseB }, wantErr: consent.ErrInvalidClaims},
		{name: "issuer other than the subject", edit: func(c *schemas.ConsentClaims) { c.Issuer = enterpriseB }, wantErr: consent.ErrInvalidClaims},
		{name: "key of another subject", key: f.keyB, wantErr: consent.ErrKeyMismatch},
		{name: "certificate expired", now: at(366 * 24 * time.Hour), edit: func(c *schemas.ConsentClaims) { c.NotBefore, c.Expiry = 0, t0Unix+400*24*3600 }, wantErr: consent.ErrCertificate},
		{name: "certificate garbage", cert: func() []byte { return []byte("x.y.z") }, wantErr: consent.ErrCertificate},
		{name: "consent presented as certificate", cert: func() []byte { return f.grantA(t) }, wantErr: consent.ErrCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := consentClaims()
			if tt.edit != nil {
				tt.edit(&c)
			}
			key, cert, now := f.keyA, f.certA, at(0)
			if tt.key != nil {
				key = tt.key
			}
			if tt.cert != nil {
				cert = tt.cert()
			}
			if !tt.now.IsZero() {
				now = tt.now
			}
			tok, err := consent.Grant(key, cert, c, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := consent.VerifyConsentToken(tok, f.reg, at(90*time.Minute), skew)
			if err != nil {
				t.Fatal(err)
			}
			g := got.Claims
			if g.Subject != enterpriseA || g.Issuer != enterpriseA || g.IssuedAt != t0Unix ||
				g.SubjectCert != string(f.certA) || g.Requester != bankID || g.MaxUses != 3 {
				t.Fatalf("unexpected claims %+v", g)
			}
			if c.ID != "" && g.ID != c.ID {
				t.Fatalf("jti %q, want the caller's %q", g.ID, c.ID)
			}
			if c.ID == "" && len(g.ID) != 32 {
				t.Fatalf("generated jti %q is not 128-bit hex", g.ID)
			}
		})
	}
}

func TestGrantDefaultsNotBefore(t *testing.T) {
	f := newFixture(t)
	c := consentClaims()
	c.NotBefore = 0
	tok, err := consent.Grant(f.keyA, f.certA, c, at(0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := consent.VerifyConsentToken(tok, f.reg, at(0), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Claims.NotBefore != t0Unix {
		t.Fatalf("nbf %d, want the grant time %d", got.Claims.NotBefore, t0Unix)
	}
}

func TestVerifyConsentToken(t *testing.T) {
	f := newFixture(t)
	valid := f.grantA(t)
	const nbf, exp = time.Hour, 2 * time.Hour // consentClaims' validity relative to t0
	craft := func(key ed25519.PrivateKey, edit func(*schemas.ConsentClaims)) []byte {
		c := f.fullConsentClaims()
		edit(&c)
		k := f.keyA
		if key != nil {
			k = key
		}
		return signJSON(t, k, schemas.TypConsent, c)
	}
	forgedCert := signJSON(t, f.bankKey, schemas.TypSubjectCert,
		func() schemas.SubjectCertClaims { c := f.certClaims(t); c.Issuer = bankID; return c }())
	revocation, err := consent.Revoke(f.keyA, f.certA, providerID, "consent-1", at(0))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tok  []byte
		now  time.Time
		code schemas.Code // empty: valid
	}{
		{"valid", valid, at(90 * time.Minute), ""},
		{"crafted valid", craft(nil, func(*schemas.ConsentClaims) {}), at(90 * time.Minute), ""},
		// threats.md item 12: the skew limits, exactly and ±1 s.
		{"nbf-skew-1s", valid, at(nbf - skew - time.Second), schemas.CodeConsentNotYetValid},
		{"exactly nbf-skew", valid, at(nbf - skew), ""},
		{"nbf-skew+1s", valid, at(nbf - skew + time.Second), ""},
		{"exp+skew-1s", valid, at(exp + skew - time.Second), ""},
		{"exactly exp+skew", valid, at(exp + skew), schemas.CodeConsentExpired},
		{"exp+skew+1s", valid, at(exp + skew + time.Second), schemas.CodeConsentExpired},
		// threats.md item 29.
		{"signed by another subject's key under the certified kid", signRaw(t, f.keyB, kidOf(f.keyA), schemas.TypConsent,
			mustJSON(t, f.fullConsentClaims())), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"signed by another subject's key", craft(f.keyB, func(*schemas.ConsentClaims) {}), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"embedded certificate forged by a non-registrar", craft(nil, func(c *schemas.ConsentClaims) { c.SubjectCert = string(forgedCert) }),
			at(90 * time.Minute), schemas.CodeSubjectCertInvalid},
		{"embedded certificate of another subject", craft(nil, func(c *schemas.ConsentClaims) { c.SubjectCert = string(f.certB) }),
			at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"consent for another subject under own certificate", craft(nil, func(c *schemas.ConsentClaims) { c.Subject, c.Issuer = enterpriseB, enterpriseB }),
			at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"issuer is not the subject", craft(nil, func(c *schemas.ConsentClaims) { c.Issuer = enterpriseB }), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"no embedded certificate", craft(nil, func(c *schemas.ConsentClaims) { c.SubjectCert = "" }), at(90 * time.Minute), schemas.CodeSubjectCertInvalid},
		{"certificate expired", valid, at(366 * 24 * time.Hour), schemas.CodeSubjectCertInvalid},
		{"flipped signature bit", flipSignature(valid), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"payload swapped after signing", withPayload(valid, mustJSON(t, func() schemas.ConsentClaims {
			c := f.fullConsentClaims()
			c.MaxUses = 1000
			return c
		}())), at(90 * time.Minute), schemas.CodeConsentInvalid},
		// threats.md item 10 and typ confusion.
		{"subject certificate presented as consent", f.certA, at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"revocation presented as consent", revocation, at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"consent claims under the revocation typ", signJSON(t, f.keyA, schemas.TypRevocation, f.fullConsentClaims()), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"max_uses zero", craft(nil, func(c *schemas.ConsentClaims) { c.MaxUses = 0 }), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"no categories", craft(nil, func(c *schemas.ConsentClaims) { c.Categories = nil }), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"exp not after nbf", craft(nil, func(c *schemas.ConsentClaims) { c.Expiry = c.NotBefore }), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"exp beyond year 9999", craft(nil, func(c *schemas.ConsentClaims) { c.Expiry = 1 << 62 }), at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"unknown claim", mutateJSON(t, valid, f.keyA, schemas.TypConsent, func(m map[string]any) { m["scope"] = "all" }),
			at(90 * time.Minute), schemas.CodeConsentInvalid},
		{"garbage", []byte("a.b.c"), at(0), schemas.CodeConsentInvalid},
		{"payload not JSON", signRaw(t, f.keyA, kidOf(f.keyA), schemas.TypConsent, []byte("[1,2]")), at(0), schemas.CodeConsentInvalid},
		{"too large", bytes.Repeat([]byte("a"), consent.MaxTokenSize+1), at(0), schemas.CodeConsentInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := consent.VerifyConsentToken(tt.tok, f.reg, tt.now, skew)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				if c != nil {
					t.Fatal("consent returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tt.tok)
			if c.Digest != hex.EncodeToString(sum[:]) || c.SubjectType != schemas.SubjectEnterprise || c.Claims.Subject != enterpriseA {
				t.Fatalf("unexpected consent %+v", c)
			}
		})
	}
}

func TestConsentCheck(t *testing.T) {
	f := newFixture(t)
	c, err := consent.VerifyConsentToken(f.grantA(t), f.reg, at(90*time.Minute), skew)
	if err != nil {
		t.Fatal(err)
	}
	base := consent.Expectation{Requester: bankID, Provider: providerID, Subject: enterpriseA, Purpose: purpose,
		Categories: []string{"tax_payment", "administrative_penalty"}}
	tests := []struct {
		name         string
		edit         func(*consent.Expectation)
		code         schemas.Code // of Check; empty: covered
		partiesValid bool         // CheckParties accepts
	}{
		{"exact", func(*consent.Expectation) {}, "", true},
		{"subset of categories", func(e *consent.Expectation) { e.Categories = e.Categories[:1] }, "", true},
		// threats.md item 17.
		{"another subject", func(e *consent.Expectation) { e.Subject = enterpriseB }, schemas.CodeConsentWrongSubject, false},
		{"another requester", func(e *consent.Expectation) { e.Requester = otherBankID }, schemas.CodeConsentWrongRequester, false},
		{"another provider", func(e *consent.Expectation) { e.Provider = otherProvider }, schemas.CodeConsentWrongProvider, false},
		{"another purpose", func(e *consent.Expectation) { e.Purpose = "guarantee_review" }, schemas.CodeConsentWrongPurpose, true},
		{"another category", func(e *consent.Expectation) { e.Categories = []string{"tax_payment", "social_insurance"} }, schemas.CodeConsentWrongCategory, true},
		// The order of checks: subject, requester, provider, purpose, categories.
		{"subject before requester", func(e *consent.Expectation) { e.Subject, e.Requester = enterpriseB, otherBankID }, schemas.CodeConsentWrongSubject, false},
		{"requester before provider", func(e *consent.Expectation) { e.Requester, e.Provider = otherBankID, otherProvider }, schemas.CodeConsentWrongRequester, false},
		{"provider before purpose", func(e *consent.Expectation) { e.Provider, e.Purpose = otherProvider, "x" }, schemas.CodeConsentWrongProvider, false},
		{"purpose before category", func(e *consent.Expectation) { e.Purpose, e.Categories = "x", []string{"y"} }, schemas.CodeConsentWrongPurpose, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base
			want.Categories = append([]string(nil), base.Categories...)
			tt.edit(&want)
			err := c.Check(want)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantCode(t, err, tt.code)
			}
			perr := c.CheckParties(want)
			if tt.partiesValid != (perr == nil) {
				t.Fatalf("CheckParties = %v, want valid %v", perr, tt.partiesValid)
			}
		})
	}
}

// A consent must name its providers: each provider counts only the uses spent
// at it, so a consent naming none could be spent max_uses times at each. Grant
// refuses one, and a provider refuses one signed by other software.
func TestConsentMustNameProviders(t *testing.T) {
	f := newFixture(t)
	claims := consentClaims()
	claims.Providers = nil
	if _, err := consent.Grant(f.keyA, f.certA, claims, at(0)); !errors.Is(err, consent.ErrInvalidClaims) {
		t.Fatalf("Grant of a consent naming no providers: %v, want ErrInvalidClaims", err)
	}
	for name, providers := range map[string]any{"absent": nil, "empty": []string{}} {
		t.Run(name, func(t *testing.T) {
			tok := mutateJSON(t, f.grantA(t), f.keyA, schemas.TypConsent, func(m map[string]any) {
				if providers == nil {
					delete(m, "providers")
				} else {
					m["providers"] = providers
				}
			})
			want := consent.Expectation{Requester: bankID, Provider: providerID, Subject: enterpriseA, Purpose: purpose, Categories: []string{"tax_payment"}}
			_, err := consent.VerifyConsent(tok, f.reg, want, at(90*time.Minute), skew)
			wantCode(t, err, schemas.CodeConsentInvalid)
		})
	}
}

func TestVerifyConsent(t *testing.T) {
	f := newFixture(t)
	tok := f.grantA(t)
	want := consent.Expectation{Requester: bankID, Provider: providerID, Subject: enterpriseA, Purpose: purpose, Categories: []string{"tax_payment"}}
	tests := []struct {
		name string
		edit func(*consent.Expectation)
		now  time.Time
		code schemas.Code
	}{
		{"valid", func(*consent.Expectation) {}, at(90 * time.Minute), ""},
		{"expired", func(*consent.Expectation) {}, at(3 * time.Hour), schemas.CodeConsentExpired},
		{"other purpose", func(e *consent.Expectation) { e.Purpose = "joint_modeling" }, at(90 * time.Minute), schemas.CodeConsentWrongPurpose},
		{"other requester", func(e *consent.Expectation) { e.Requester = otherBankID }, at(90 * time.Minute), schemas.CodeConsentWrongRequester},
		{"other categories", func(e *consent.Expectation) { e.Categories = []string{"court_judgment"} }, at(90 * time.Minute), schemas.CodeConsentWrongCategory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := want
			tt.edit(&w)
			c, err := consent.VerifyConsent(tok, f.reg, w, tt.now, skew)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || c == nil {
				t.Fatalf("got %v, %v", c, err)
			}
		})
	}
}

func TestLogValuesHoldNoContents(t *testing.T) {
	f := newFixture(t)
	c, err := consent.VerifyConsentToken(f.grantA(t), f.reg, at(90*time.Minute), skew)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := consent.VerifySubjectCert(f.certA, f.reg, at(0), skew)
	if err != nil {
		t.Fatal(err)
	}
	revTok, err := consent.Revoke(f.keyA, f.certA, providerID, c.Claims.ID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	rev, err := consent.VerifyRevocation(revTok, f.reg, providerID, at(0), skew)
	if err != nil {
		t.Fatal(err)
	}
	readTok, err := consent.SubjectRead(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	read, err := consent.VerifySubjectRead(readTok, f.reg, providerID, at(0), skew)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    slog.LogValuer
		want []string
	}{
		{"consent", c, []string{c.Claims.ID, c.Digest}},
		{"subject cert", cert, []string{cert.Claims.ID, cert.KeyID(), registrarID}},
		{"revocation", rev, []string{rev.ID(), rev.Digest, c.Claims.ID}},
		{"read request", read, []string{read.ID(), read.Digest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", tt.v)
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("log %s lacks %q", out, w)
				}
			}
			for _, secret := range []string{enterpriseA, purpose, "tax_payment", bankID, "eyJ"} {
				if strings.Contains(out, secret) {
					t.Errorf("log %s holds %q", out, secret)
				}
			}
		})
	}
}
