package reports

import (
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/schemas/schematest"
)

// TestVerifyRefusesAmbiguousNames: a report signed again with a duplicate
// member or a member name in another case is malformed.
func TestVerifyRefusesAmbiguousNames(t *testing.T) {
	w := newWorld(t)
	tok, _ := w.build(t)
	now := testNow.Add(time.Hour)
	if _, err := Verify(tok, w.keys, now, negative); err != nil {
		t.Fatal(err)
	}
	for _, v := range schematest.NameVariants(t, tok, w.keys["bank-a"].priv) {
		t.Run(v.Name, func(t *testing.T) {
			if _, err := Verify(v.Token, w.keys, now, negative); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}
