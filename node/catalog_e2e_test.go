package node_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/schemas"
)

// bank-a fetches and verifies the signed catalogues of every peer over mutual
// TLS; each matches the levels its provider enforces.
func TestCatalogAcrossFederation(t *testing.T) {
	f := startFed(t)
	bank := f.nodes["bank-a"]
	got, err := catalog.Fetch(context.Background(), bank.Client, bank.Registry.Current(), []string{"tax-dept", "market-reg", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"tax-dept", "market-reg"} {
		if got[i].Err != nil {
			t.Fatalf("%s: %v", want, got[i].Err)
		}
		c := got[i].Catalog
		levels := map[string]string{}
		for _, e := range c.Categories {
			levels[e.Name] = e.Level
		}
		for _, s := range specs() {
			if s.ID == want && len(levels) != len(s.Catalog) {
				t.Fatalf("%s catalogue %v, config %v", want, levels, s.Catalog)
			}
			for name, lvl := range s.Catalog {
				if s.ID == want && levels[name] != lvl {
					t.Errorf("%s: %s is %q in the catalogue, %q in the config", want, name, levels[name], lvl)
				}
			}
		}
	}
	tax := got[0].Catalog.Categories
	if i := slices.IndexFunc(tax, func(e schemas.CatalogEntry) bool { return e.Name == "tax_payment" }); i < 0 || !slices.Contains(tax[i].Purposes, "loan_approval") {
		t.Errorf("tax_payment entry: %+v", tax)
	}
	var e *schemas.Error
	if !errors.As(got[2].Err, &e) || e.Code != schemas.CodeUnknownMember {
		t.Errorf("unknown member: %v", got[2].Err)
	}
}
