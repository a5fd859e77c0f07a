package grading

import (
	"errors"
	"slices"
	"testing"

	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/schemas"
)

func TestPeers(t *testing.T) {
	reg := []schemas.Member{{ID: "market-reg"}, {ID: "tax-dept"}, {ID: "bank-a"}}
	if got := Peers(reg, "market-reg", nil, true); !slices.Equal(got, []string{"tax-dept", "bank-a"}) {
		t.Errorf("all peers: %v", got)
	}
	if got := Peers(reg, "market-reg", []string{"tax-dept"}, true); !slices.Equal(got, []string{"tax-dept", "bank-a"}) {
		t.Errorf("all peers with one named: %v", got)
	}
	if got := Peers(reg, "market-reg", []string{"tax-dept"}, false); !slices.Equal(got, []string{"tax-dept"}) {
		t.Errorf("named: %v", got)
	}
	if got := Peers(reg, "market-reg", nil, false); len(got) != 0 {
		t.Errorf("none: %v", got)
	}
}

// TestAsksFromCatalogs: each peer is asked for the graded categories its
// catalogue offers, once each; a peer without one is not asked; a catalogue
// that could not be had is a problem.
func TestAsksFromCatalogs(t *testing.T) {
	entries := func(names ...string) *schemas.Catalog {
		c := &schemas.Catalog{}
		for _, n := range names {
			c.Categories = append(c.Categories, schemas.CatalogEntry{Name: n})
		}
		return c
	}
	down := errors.New("peer_unavailable")
	asks, problems := asksFrom([]catalog.Fetched{
		{Provider: "market-reg", Catalog: entries("registration", CategoryAbnormal, CategoryPenalty, CategoryAbnormal)},
		{Provider: "utility", Catalog: entries("utility_payment")},
		{Provider: "down", Err: down},
		{Provider: "tax-dept", Catalog: entries(CategoryTax, "social_insurance")},
	})
	want := []Ask{
		{Provider: "market-reg", Categories: []string{CategoryAbnormal, CategoryPenalty}},
		{Provider: "tax-dept", Categories: []string{CategoryTax}},
	}
	if !slices.EqualFunc(asks, want, func(a, b Ask) bool { return a.Provider == b.Provider && slices.Equal(a.Categories, b.Categories) }) {
		t.Errorf("asks = %+v, want %+v", asks, want)
	}
	if len(problems) != 1 || problems[0].Source != "down" || !errors.Is(problems[0].Err, down) {
		t.Errorf("problems = %+v", problems)
	}
}
