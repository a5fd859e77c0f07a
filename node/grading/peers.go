package grading

import (
	"context"
	"slices"

	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/schemas"
)

// Peers returns the members to ask: named, or, with all, every one of the
// registry's members other than self, in the registry's order.
func Peers(members []schemas.Member, self string, named []string, all bool) []string {
	if !all {
		return slices.Clone(named)
	}
	var out []string
	for _, m := range members {
		if m.ID != self {
			out = append(out, m.ID)
		}
	}
	return out
}

// PlanAsks fetches and verifies each peer's signed catalogue and returns one
// Ask per peer that offers a graded category, for the graded categories it
// offers. A peer whose catalogue cannot be had is a Problem (the grade is
// then incomplete), never silently dropped; a peer offering no graded
// category is not asked. The error is catalog.Fetch's own failure.
func PlanAsks(ctx context.Context, g catalog.Getter, keys catalog.Keys, peers []string) ([]Ask, []Problem, error) {
	fetched, err := catalog.Fetch(ctx, g, keys, peers)
	if err != nil {
		return nil, nil, err
	}
	asks, problems := asksFrom(fetched)
	return asks, problems, nil
}

// asksFrom turns fetched catalogues into asks and problems.
func asksFrom(fetched []catalog.Fetched) ([]Ask, []Problem) {
	var (
		asks     []Ask
		problems []Problem
	)
	graded := Categories()
	for _, f := range fetched {
		if f.Err != nil {
			problems = append(problems, Problem{Source: f.Provider, Err: f.Err})
			continue
		}
		ask := Ask{Provider: f.Provider}
		for _, e := range f.Catalog.Categories {
			if slices.Contains(graded, e.Name) && !slices.Contains(ask.Categories, e.Name) {
				ask.Categories = append(ask.Categories, e.Name)
			}
		}
		if len(ask.Categories) > 0 {
			asks = append(asks, ask)
		}
	}
	return asks, problems
}
