package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/schemas"
)

// FuzzQueryBody feeds arbitrary request bodies to the provider's query path
// (as if from the authenticated TLS peer bank-a). Whatever the input, the
// provider must not panic, must answer with a defined wire code, must log the
// attempt, and must never release data for anything but a validly signed
// query.
func FuzzQueryBody(f *testing.F) {
	ctx := context.Background()
	dir := f.TempDir()
	n, err := devnet.Create(dir, specs())
	if err != nil {
		f.Fatal(err)
	}
	smes, _ := devnet.DemoSMEs(1)
	if err := n.ImportRecords(ctx, "tax-dept", devnet.TaxRecords(smes, time.Now())); err != nil {
		f.Fatal(err)
	}
	tax, err := node.Open(ctx, n.NodeDir("tax-dept"), quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { tax.Close() })
	bank, err := node.Open(ctx, n.NodeDir("bank-a"), quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { bank.Close() })

	subj, err := n.EnrolSubject("market-reg", smes[0].USCC)
	if err != nil {
		f.Fatal(err)
	}
	tok, _, err := devnet.GrantConsent(subj, "bank-a", "loan_approval", []string{"tax_payment"}, []string{"tax-dept"}, time.Hour, 1000)
	if err != nil {
		f.Fatal(err)
	}
	fd := &fed{net: n, nodes: map[string]*node.Node{"bank-a": bank, "tax-dept": tax}, smes: smes}
	valid := fd.signQuery(f, fd.claims(tok))
	f.Add(valid)
	f.Add([]byte(tok))
	f.Add([]byte(strings.Replace(string(valid), ".", "..", 1)))
	f.Add([]byte("eyJhbGciOiJub25lIn0.e30."))
	f.Add([]byte(`{"payload":"e30","signatures":[]}`))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, body []byte) {
		before, err := tax.Store.InquiryLogSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a := tax.Provider.Query(ctx, "bank-a", body)
		after, err := tax.Store.InquiryLogSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after != before+1 || a.LogIndex == nil || *a.LogIndex != before {
			t.Fatalf("attempt not logged exactly once: log %d → %d, index %v", before, after, a.LogIndex)
		}
		if a.Err == nil {
			if string(body) != string(valid) {
				t.Fatalf("data released for an input that is not the one valid token: %q", body)
			}
			return
		}
		if !a.Err.Code.Known() || a.Body != nil {
			t.Fatalf("bad denial: %+v", a)
		}
		if a.Err.Code == schemas.CodeInternal {
			t.Fatalf("internal error for outside input: %v", a.Err)
		}
	})
}
