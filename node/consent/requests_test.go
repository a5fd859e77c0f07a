package consent_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

// requestCase is one verification of a revocation or read request.
type requestCase struct {
	name     string
	tok      []byte
	provider string
	now      time.Time
	code     schemas.Code // empty: valid
}

// commonRequestCases are the cases revocations and read requests share.
// valid was issued by A at t0 for providerID.
func commonRequestCases(t *testing.T, f *fixture, typ string, valid []byte) []requestCase {
	edit := func(key ed25519.PrivateKey, e func(map[string]any)) []byte { return mutateJSON(t, valid, key, typ, e) }
	forgedCert := signJSON(t, f.bankKey, schemas.TypSubjectCert,
		func() schemas.SubjectCertClaims { c := f.certClaims(t); c.Issuer = bankID; return c }())
	return []requestCase{
		{"valid", valid, providerID, at(0), ""},
		// threats.md item 10: a token for one node replayed at another.
		{"replayed at another node", valid, otherProvider, at(0), schemas.CodeWrongAudience},
		{"no audience", edit(f.keyA, func(m map[string]any) { delete(m, "aud") }), providerID, at(0), schemas.CodeWrongAudience},
		// threats.md item 12.
		{"iat exactly skew ago", valid, providerID, at(skew), ""},
		{"iat skew+1s ago", valid, providerID, at(skew + time.Second), schemas.CodeClockSkew},
		{"iat exactly skew ahead", valid, providerID, at(-skew), ""},
		{"iat skew+1s ahead", valid, providerID, at(-skew - time.Second), schemas.CodeClockSkew},
		// threats.md item 29: another subject's request, forged certificates, wrong keys.
		{"issuer is another subject", edit(f.keyA, func(m map[string]any) { m["iss"] = enterpriseB }), providerID, at(0), schemas.CodeSubjectMismatch},
		{"another subject's key under A's certificate", edit(f.keyB, func(map[string]any) {}), providerID, at(0), schemas.CodeBadSignature},
		{"certificate forged by a non-registrar", edit(f.keyA, func(m map[string]any) { m["sub_cert"] = string(forgedCert) }), providerID, at(0), schemas.CodeSubjectCertInvalid},
		{"flipped signature bit", flipSignature(valid), providerID, at(0), schemas.CodeBadSignature},
		{"subject certificate presented instead", f.certA, providerID, at(0), schemas.CodeBadSignature},
		{"consent presented instead", f.grantA(t), providerID, at(0), schemas.CodeBadSignature},
		{"no jti", edit(f.keyA, func(m map[string]any) { delete(m, "jti") }), providerID, at(0), schemas.CodeMalformedRequest},
		{"unknown claim", edit(f.keyA, func(m map[string]any) { m["sub"] = enterpriseB }), providerID, at(0), schemas.CodeMalformedRequest},
		{"garbage", []byte("a.b.c"), providerID, at(0), schemas.CodeMalformedRequest},
	}
}

func TestVerifyRevocation(t *testing.T) {
	f := newFixture(t)
	valid, err := consent.Revoke(f.keyA, f.certA, providerID, "consent-1", at(0))
	if err != nil {
		t.Fatal(err)
	}
	read, err := consent.SubjectRead(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	cases := append(commonRequestCases(t, f, schemas.TypRevocation, valid),
		requestCase{"read request presented as revocation", read, providerID, at(0), schemas.CodeBadSignature},
		requestCase{"no consent id", mutateJSON(t, valid, f.keyA, schemas.TypRevocation, func(m map[string]any) { delete(m, "consent_id") }),
			providerID, at(0), schemas.CodeMalformedRequest},
	)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r, err := consent.VerifyRevocation(tt.tok, f.reg, tt.provider, tt.now, skew)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject() != enterpriseA || len(r.ID()) != 32 || r.Claims.ConsentID != "consent-1" || r.SubjectType != schemas.SubjectEnterprise {
				t.Fatalf("unexpected revocation %+v", r.Claims)
			}
		})
	}
}

func TestVerifySubjectRead(t *testing.T) {
	f := newFixture(t)
	valid, err := consent.SubjectRead(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	rev, err := consent.Revoke(f.keyA, f.certA, providerID, "consent-1", at(0))
	if err != nil {
		t.Fatal(err)
	}
	cases := append(commonRequestCases(t, f, schemas.TypSubjectRead, valid),
		requestCase{"revocation presented as read request", rev, providerID, at(0), schemas.CodeBadSignature})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r, err := consent.VerifySubjectRead(tt.tok, f.reg, tt.provider, tt.now, skew)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject() != enterpriseA || len(r.ID()) != 32 || r.Claims.Audience != providerID {
				t.Fatalf("unexpected read request %+v", r.Claims)
			}
		})
	}
}

func TestSubjectSignedRequestsRejectBadInput(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		sign func() ([]byte, error)
		want error
	}{
		{"revoke with another subject's key", func() ([]byte, error) { return consent.Revoke(f.keyB, f.certA, providerID, "c", at(0)) }, consent.ErrKeyMismatch},
		{"revoke without provider", func() ([]byte, error) { return consent.Revoke(f.keyA, f.certA, "", "c", at(0)) }, consent.ErrInvalidClaims},
		{"revoke without consent id", func() ([]byte, error) { return consent.Revoke(f.keyA, f.certA, providerID, "", at(0)) }, consent.ErrInvalidClaims},
		{"revoke with a nil key", func() ([]byte, error) { return consent.Revoke(nil, f.certA, providerID, "c", at(0)) }, consent.ErrInvalidClaims},
		{"read with another subject's key", func() ([]byte, error) { return consent.SubjectRead(f.keyB, f.certA, providerID, at(0)) }, consent.ErrKeyMismatch},
		{"read without provider", func() ([]byte, error) { return consent.SubjectRead(f.keyA, f.certA, "", at(0)) }, consent.ErrInvalidClaims},
		{"read with an expired certificate", func() ([]byte, error) {
			return consent.SubjectRead(f.keyA, f.certA, providerID, at(365*24*time.Hour))
		}, consent.ErrCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.sign()
			if !errors.Is(err, tt.want) || tok != nil {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestSubjectReadPage: a read names its page; a limit outside 0 to
// schemas.SubjectPageMax is refused when signing and, from a subject that
// signs one anyway, malformed_request; a rights-status or report request
// carrying a page is malformed too.
func TestSubjectReadPage(t *testing.T) {
	f := newFixture(t)
	page := &schemas.SubjectPageRequest{From: 1000, Limit: 10, Checkpoint: 2000, Until: 3000}
	tok, err := consent.SubjectReadPage(f.keyA, f.certA, providerID, page, at(0))
	if err != nil {
		t.Fatal(err)
	}
	r, err := consent.VerifySubjectRead(tok, f.reg, providerID, at(0), skew)
	if err != nil || r.Claims.Page == nil || *r.Claims.Page != *page {
		t.Fatalf("page read: %+v, %v", r, err)
	}
	for _, limit := range []int{-1, schemas.SubjectPageMax + 1} {
		if _, err := consent.SubjectReadPage(f.keyA, f.certA, providerID, &schemas.SubjectPageRequest{Limit: limit}, at(0)); !errors.Is(err, consent.ErrInvalidClaims) {
			t.Fatalf("signing a page of limit %d: %v", limit, err)
		}
	}
	claims := func(typ string, limit int) []byte {
		return signJSON(t, f.keyA, typ, schemas.SubjectReadClaims{ID: strings.Repeat("a", 32), Issuer: enterpriseA, Audience: providerID,
			IssuedAt: at(0).Unix(), SubjectCert: string(f.certA), Page: &schemas.SubjectPageRequest{Limit: limit}})
	}
	_, err = consent.VerifySubjectRead(claims(schemas.TypSubjectRead, schemas.SubjectPageMax), f.reg, providerID, at(0), skew)
	if err != nil {
		t.Fatalf("a page of the largest limit: %v", err)
	}
	_, err = consent.VerifySubjectRead(claims(schemas.TypSubjectRead, schemas.SubjectPageMax+1), f.reg, providerID, at(0), skew)
	wantCode(t, err, schemas.CodeMalformedRequest)
	_, err = consent.VerifyRightsStatus(claims(schemas.TypRightsStatus, 10), f.reg, providerID, at(0), skew)
	wantCode(t, err, schemas.CodeMalformedRequest)
	_, err = consent.VerifyReportRequest(claims(schemas.TypReportRequest, 10), f.reg, providerID, at(0), skew)
	wantCode(t, err, schemas.CodeMalformedRequest)
}
