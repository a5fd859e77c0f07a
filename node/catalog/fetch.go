package catalog

import (
	"context"
	"strings"

	"github.com/creditexchange/node/schemas"
)

// Getter fetches a path from a member's API over pinned mutual TLS and
// returns the body of a 200 answer, or the member's wire error (peer.Client).
type Getter interface {
	Get(ctx context.Context, member, path string) ([]byte, error)
}

// Fetched is one peer's catalogue, or why it could not be had.
type Fetched struct {
	Provider string
	Catalog  *schemas.Catalog
	Err      error
}

// Fetch gets and verifies the catalogue of each provider, in order. A
// failure for one provider is reported in its Fetched and does not stop the
// others: a federation-wide listing shows what it can.
func Fetch(ctx context.Context, g Getter, keys Keys, providers []string) ([]Fetched, error) {
	v, err := schemas.NewCatalogValidator()
	if err != nil {
		return nil, err
	}
	out := make([]Fetched, 0, len(providers))
	for _, p := range providers {
		f := Fetched{Provider: p}
		body, err := g.Get(ctx, p, strings.TrimPrefix(RouteCatalog, "GET "))
		if err != nil {
			f.Err = err
		} else {
			f.Catalog, f.Err = Verify(body, keys, p, v)
		}
		out = append(out, f)
	}
	return out, nil
}
