package approval_test

import (
	"testing"
	"time"

	"github.com/creditexchange/node/node/approval"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/schematest"
)

// TestVerifyRefusesAmbiguousNames: an approval signed again with a
// duplicate member or a member name in another case is refused.
func TestVerifyRefusesAmbiguousNames(t *testing.T) {
	fx := newFixture(t)
	tok := fx.issue(t, fx.pboc, claims(regulator))
	now := t0.Add(time.Hour)
	if _, err := approval.Verify(tok, fx.reg, now, skew); err != nil {
		t.Fatal(err)
	}
	for _, v := range schematest.NameVariants(t, tok, fx.pboc.key) {
		t.Run(v.Name, func(t *testing.T) {
			a, err := approval.Verify(v.Token, fx.reg, now, skew)
			if got := schemas.CodeOf(err); a != nil || got != schemas.CodeApprovalInvalid {
				t.Fatalf("code %q (%v), want %s", got, err, schemas.CodeApprovalInvalid)
			}
		})
	}
}
