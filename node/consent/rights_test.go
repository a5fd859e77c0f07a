package consent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/schemas"
)

func TestVerifyObjectionAndRepair(t *testing.T) {
	f := newFixture(t)
	for _, typ := range []string{schemas.TypObjection, schemas.TypRepair} {
		t.Run(typ, func(t *testing.T) {
			issue := consent.Object
			other := consent.ApplyRepair
			if typ == schemas.TypRepair {
				issue, other = consent.ApplyRepair, consent.Object
			}
			valid, err := issue(f.keyA, f.certA, providerID, "tax_payment", "榕市监处罚〔2021〕88号", "the amount is wrong", at(0))
			if err != nil {
				t.Fatal(err)
			}
			otherTok, err := other(f.keyA, f.certA, providerID, "tax_payment", "r1", "x", at(0))
			if err != nil {
				t.Fatal(err)
			}
			edit := func(e func(map[string]any)) []byte { return mutateJSON(t, valid, f.keyA, typ, e) }
			cases := append(commonRequestCases(t, f, typ, valid),
				requestCase{"the other request type", otherTok, providerID, at(0), schemas.CodeBadSignature},
				requestCase{"no record id", edit(func(m map[string]any) { delete(m, "record_id") }), providerID, at(0), schemas.CodeMalformedRequest},
				requestCase{"empty reason", edit(func(m map[string]any) { m["reason"] = "" }), providerID, at(0), schemas.CodeMalformedRequest},
				requestCase{"reason too long", edit(func(m map[string]any) { m["reason"] = strings.Repeat("x", schemas.MaxReasonLength+1) }), providerID, at(0), schemas.CodeMalformedRequest},
				requestCase{"control character in record id", edit(func(m map[string]any) { m["record_id"] = "a\x00b" }), providerID, at(0), schemas.CodeMalformedRequest},
			)
			for _, tt := range cases {
				t.Run(tt.name, func(t *testing.T) {
					r, err := consent.VerifyRecordRequest(tt.tok, typ, f.reg, tt.provider, tt.now, skew)
					if tt.code != "" {
						wantCode(t, err, tt.code)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if r.Subject() != enterpriseA || r.Type != typ || r.Claims.RecordID != "榕市监处罚〔2021〕88号" || r.Claims.Reason != "the amount is wrong" {
						t.Fatalf("unexpected request %+v", r.Claims)
					}
				})
			}
		})
	}
}

func TestRecordRequestRefusesBadArguments(t *testing.T) {
	f := newFixture(t)
	for _, args := range [][3]string{{"", "r", "why"}, {"c", "", "why"}, {"c", "r", ""}, {"c c", "r", "why"}} {
		if _, err := consent.Object(f.keyA, f.certA, providerID, args[0], args[1], args[2], at(0)); !errors.Is(err, consent.ErrInvalidClaims) {
			t.Errorf("%q: err = %v, want ErrInvalidClaims", args, err)
		}
	}
	if _, err := consent.Object(f.keyB, f.certA, providerID, "c", "r", "why", at(0)); !errors.Is(err, consent.ErrKeyMismatch) {
		t.Errorf("another key: err = %v", err)
	}
}

func TestVerifyRightsStatus(t *testing.T) {
	f := newFixture(t)
	valid, err := consent.RightsStatus(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	read, err := consent.SubjectRead(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	cases := append(commonRequestCases(t, f, schemas.TypRightsStatus, valid),
		requestCase{"log read presented as status request", read, providerID, at(0), schemas.CodeBadSignature})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r, err := consent.VerifyRightsStatus(tt.tok, f.reg, tt.provider, tt.now, skew)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || r.Subject() != enterpriseA {
				t.Fatalf("r = %+v, err = %v", r, err)
			}
		})
	}
}

func TestVerifyReportRequest(t *testing.T) {
	f := newFixture(t)
	valid, err := consent.ReportRequest(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	read, err := consent.SubjectRead(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	status, err := consent.RightsStatus(f.keyA, f.certA, providerID, at(0))
	if err != nil {
		t.Fatal(err)
	}
	cases := append(commonRequestCases(t, f, schemas.TypReportRequest, valid),
		requestCase{"log read presented as report request", read, providerID, at(0), schemas.CodeBadSignature},
		requestCase{"status request presented as report request", status, providerID, at(0), schemas.CodeBadSignature})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r, err := consent.VerifyReportRequest(tt.tok, f.reg, tt.provider, tt.now, skew)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || r.Subject() != enterpriseA {
				t.Fatalf("r = %+v, err = %v", r, err)
			}
		})
	}
	// A report token is not a log read either.
	if _, err := consent.VerifySubjectRead(valid, f.reg, providerID, at(0), skew); err == nil {
		t.Fatal("a report request verified as a log read")
	}
}

// FuzzVerifyRecordRequest checks that no input panics, that failures carry a
// request code, and that whatever verifies is self-consistent.
func FuzzVerifyRecordRequest(f *testing.F) {
	fx := newFixture(f)
	obj, err := consent.Object(fx.keyA, fx.certA, providerID, "tax_payment", "r1", "wrong", at(0))
	if err != nil {
		f.Fatal(err)
	}
	rep, err := consent.ApplyRepair(fx.keyA, fx.certA, providerID, "administrative_penalty", "r2", "paid", at(0))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{obj, rep, flipSignature(obj), fx.certA, nil, []byte("a.b.c")} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, tok []byte, repair bool) {
		typ := schemas.TypObjection
		if repair {
			typ = schemas.TypRepair
		}
		r, err := consent.VerifyRecordRequest(tok, typ, fx.reg, providerID, at(0), skew)
		if err != nil {
			switch code := schemas.CodeOf(err); code {
			case schemas.CodeMalformedRequest, schemas.CodeBadSignature, schemas.CodeSubjectCertInvalid,
				schemas.CodeSubjectMismatch, schemas.CodeWrongAudience, schemas.CodeClockSkew:
			default:
				t.Fatalf("unexpected code %s: %v", code, err)
			}
			return
		}
		sum := sha256.Sum256(tok)
		if r.Type != typ || r.Digest != hex.EncodeToString(sum[:]) || r.Claims.RecordID == "" || r.Claims.Reason == "" {
			t.Fatalf("inconsistent request %+v", r.Claims)
		}
	})
}
