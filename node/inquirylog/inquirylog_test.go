package inquirylog

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

func TestLeafRoundTripAndTamper(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	e := schemas.InquiryEntry{Kind: schemas.KindQuery, RequestID: "r1", Requester: "bank-a", Subject: "91330106MA10000095",
		Purpose: "loan_approval", Categories: []string{"tax_payment"}, Decision: schemas.DecisionAllow}
	l, err := NewLeaf(e, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Subject != e.Subject || len(l.Salt) != SaltSize {
		t.Fatalf("leaf %+v", l)
	}
	// RFC 6962: leaf hash = SHA-256(0x00 || salt || entry).
	if want := rfc6962.DefaultHasher.HashLeaf(append(append([]byte{}, l.Salt...), l.Entry...)); !bytes.Equal(l.LeafHash, want) {
		t.Fatal("leaf hash is not the RFC 6962 hash of salt||entry")
	}
	le, err := Decode(store.StoredLeaf{Index: 7, Leaf: l})
	if err != nil {
		t.Fatal(err)
	}
	if le.Index != 7 || le.Entry.Time != now.Format(time.RFC3339Nano) {
		t.Fatalf("decoded %+v", le)
	}
	if err := VerifyLogged(le); err != nil {
		t.Fatalf("subject-side verification: %v", err)
	}
	tampered := le
	tampered.Entry.Decision = schemas.DecisionDeny
	if err := VerifyLogged(tampered); !errors.Is(err, ErrLeafMismatch) {
		t.Fatalf("edited entry verified: %v", err)
	}
	bad := l
	bad.Entry = bytes.Replace(l.Entry, []byte("bank-a"), []byte("bank-b"), 1)
	if _, err := Decode(store.StoredLeaf{Leaf: bad}); !errors.Is(err, ErrLeafMismatch) {
		t.Fatalf("edited stored row decoded: %v", err)
	}
}

// Two leaves of the same entry differ: the salt hides the entry from anyone
// who only sees leaf hashes.
func TestSaltHidesEntries(t *testing.T) {
	e := schemas.InquiryEntry{Kind: schemas.KindQuery, Decision: schemas.DecisionDeny, Time: "2026-01-01T00:00:00Z"}
	a, _ := NewLeaf(e, time.Now())
	b, _ := NewLeaf(e, time.Now())
	if bytes.Equal(a.Entry, b.Entry) == false {
		t.Fatal("same entry encoded differently")
	}
	if bytes.Equal(a.LeafHash, b.LeafHash) {
		t.Fatal("same entry gave the same leaf hash")
	}
}
