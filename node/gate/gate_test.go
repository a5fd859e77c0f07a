package gate_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

type view struct {
	pub ed25519.PublicKey
	kid string
}

func (v view) Member(string) (*schemas.Member, bool)                 { return nil, false }
func (v view) MemberByFingerprint(string) (string, bool)             { return "", false }
func (v view) RegistrarKey(string, string) (ed25519.PublicKey, bool) { return nil, false }
func (v view) EncryptionKey(string) (*ecdh.PublicKey, string, bool)  { return nil, "", false }
func (v view) SigningKey(member, kid string) (ed25519.PublicKey, bool) {
	return v.pub, member == "bank-a" && kid == v.kid
}

type claims struct {
	ID  string `json:"jti"`
	Iss string `json:"iss"`
}

func TestVerifyRequest(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	v := view{pub: pub, kid: keys.SigningKID(pub)}
	sign := func(typ, payload string) []byte {
		tok, err := jose.Sign(priv, v.kid, typ, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tt := range []struct {
		name string
		peer string
		tok  []byte
		code schemas.Code
	}{
		{"valid", "bank-a", sign("t", `{"jti":"1","iss":"bank-a"}`), ""},
		{"not a JWS", "bank-a", []byte("junk"), schemas.CodeMalformedRequest},
		{"another peer's request", "bank-b", sign("t", `{"jti":"1"}`), schemas.CodeBadSignature},
		{"another type", "bank-a", sign("u", `{"jti":"1"}`), schemas.CodeBadSignature},
		{"duplicate member", "bank-a", sign("t", `{"jti":"1","jti":"2"}`), schemas.CodeMalformedRequest},
		{"member in another case", "bank-a", sign("t", `{"jti":"1","ISS":"bank-a"}`), schemas.CodeMalformedRequest},
		{"unknown member", "bank-a", sign("t", `{"jti":"1","admin":true}`), schemas.CodeMalformedRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c claims
			e := gate.VerifyRequest(v, tt.peer, tt.tok, "t", &c)
			switch {
			case tt.code == "" && e != nil:
				t.Fatal(e)
			case tt.code == "" && (c.ID != "1" || c.Iss != "bank-a"):
				t.Fatalf("claims %+v", c)
			case tt.code != "" && (e == nil || e.Code != tt.code):
				t.Fatalf("got %v, want %s", e, tt.code)
			}
		})
	}
}

// seq is an inquiry log that keeps its entries, or fails.
type seq struct {
	err     error
	entries []schemas.InquiryEntry
}

func (s *seq) CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error) {
	return s.AppendInquiry(ctx, c.Leaf)
}

func (s *seq) AppendInquiry(_ context.Context, l store.Leaf) (store.Appended, error) {
	if s.err != nil {
		return store.Appended{}, s.err
	}
	var e schemas.InquiryEntry
	if err := json.Unmarshal(l.Entry, &e); err != nil {
		return store.Appended{}, err
	}
	s.entries = append(s.entries, e)
	return store.Appended{Index: uint64(len(s.entries) - 1)}, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestDenyFailsClosed: a denial the log cannot take is answered
// log_unavailable without a log index, and the log is unhealthy until an
// append succeeds.
func TestDenyFailsClosed(t *testing.T) {
	s := &seq{err: errors.New("disk full")}
	inq := gate.NewInquiries(s, quiet, nil)
	entry := schemas.InquiryEntry{Time: time.Now().UTC().Format(time.RFC3339Nano), Kind: schemas.KindQuery, RequestID: "r"}
	f := inq.Deny(context.Background(), entry, schemas.Errorf(schemas.CodeReplay, "replay"))
	if f.Err.Code != schemas.CodeLogUnavailable || f.LogIndex != nil || f.RequestID != "r" || inq.Health() == nil {
		t.Fatalf("failure %+v, health %v", f, inq.Health())
	}
	s.err = nil
	f = inq.Deny(context.Background(), entry, schemas.Errorf(schemas.CodeReplay, "replay"))
	if f.Err.Code != schemas.CodeReplay || f.LogIndex == nil || inq.Health() != nil {
		t.Fatalf("failure %+v, health %v", f, inq.Health())
	}
	if e := s.entries[0]; e.Decision != schemas.DecisionDeny || e.Code != schemas.CodeReplay {
		t.Fatalf("entry %+v", e)
	}
}

// TestPreAuthEvictionSummarises: past its bound of sources, PreAuth
// forgets the oldest, logging the summary of its refusals first.
func TestPreAuthEvictionSummarises(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &seq{}
	inq := gate.NewInquiries(s, quiet, func() time.Time { return now })
	a := gate.NewPreAuth(inq, time.Hour, 2)
	deny := func(source string) gate.Failure {
		now = now.Add(time.Second)
		return a.Deny(context.Background(), source, schemas.InquiryEntry{Kind: schemas.KindRevocation},
			schemas.Errorf(schemas.CodeSubjectCertInvalid, "junk"))
	}
	if f := deny("a"); f.LogIndex == nil {
		t.Fatal("first refusal of a source not logged")
	}
	for range 3 {
		if f := deny("a"); f.LogIndex != nil || f.Err.Code != schemas.CodeSubjectCertInvalid {
			t.Fatalf("further refusal %+v", f)
		}
	}
	deny("b")
	deny("c") // evicts a
	if len(s.entries) != 4 || s.entries[2].Outcome == "" || s.entries[2].Code != schemas.CodeSubjectCertInvalid {
		t.Fatalf("entries %+v", s.entries)
	}
	var n int
	if _, err := fmt.Sscanf(s.entries[2].Outcome, "%d further", &n); err != nil || n != 3 {
		t.Fatalf("summary %q", s.entries[2].Outcome)
	}
	a.Flush(context.Background()) // b and c had no further refusals: nothing to sum up
	if len(s.entries) != 4 {
		t.Fatalf("%d entries after flush", len(s.entries))
	}
}

func (view) SubjectCertRevoked(string, string) bool { return false }
