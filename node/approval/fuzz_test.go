package approval_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/creditexchange/node/node/approval"
	"github.com/creditexchange/node/schemas"
)

// FuzzVerify checks that no input panics, that every failure carries one of
// Verify's codes, and that whatever verifies is a well-formed approval by
// the regulator, valid at the time asked.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	valid := fx.issue(f, fx.pboc, claims(regulator))
	flipped := []byte(string(valid))
	flipped[len(flipped)-3] ^= 1
	for _, seed := range [][]byte{valid, flipped, fx.issue(f, fx.other, claims("tax-dept")), nil, []byte("a.b.c"), []byte("..")} {
		f.Add(seed)
	}
	now := t0.Add(time.Hour)
	f.Fuzz(func(t *testing.T, tok []byte) {
		a, err := approval.Verify(tok, fx.reg, now, skew)
		if err != nil {
			switch code := schemas.CodeOf(err); code {
			case schemas.CodeApprovalInvalid, schemas.CodeApprovalNotRegulator, schemas.CodeApprovalExpired, schemas.CodeApprovalNotYetValid:
			default:
				t.Fatalf("unexpected code %s: %v", code, err)
			}
			if a != nil {
				t.Fatal("approval returned with an error")
			}
			return
		}
		sum := sha256.Sum256(tok)
		c := a.Claims
		if c.Issuer != regulator || a.Digest != hex.EncodeToString(sum[:]) || len(c.Categories) == 0 || c.Case == "" ||
			c.Expiry <= c.IssuedAt || !now.Before(time.Unix(c.Expiry, 0).Add(skew)) {
			t.Fatalf("inconsistent approval %+v", c)
		}
	})
}
