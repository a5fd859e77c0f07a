package node

import (
	"context"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// holderDecider lets the catalogue ask the policy in force which purposes
// reach a category.
type holderDecider struct{ h *policy.Holder }

func (d holderDecider) Decide(ctx context.Context, in policy.Input) (policy.Result, error) {
	return d.h.Decide(ctx, in)
}

func (d holderDecider) Purposes() []string { return d.h.Engine().Purposes() }

// openCatalog derives and signs this node's catalogue (node/catalog) from its
// config, the overlay file in its directory, the category schemas and the
// policy. It returns the sharing levels the provider enforces (config's, or
// the overlay's when config lists none) and the signed catalogue.
func openCatalog(ctx context.Context, cfg *config.Config, nk *keys.NodeKeys, pol *policy.Holder) (map[string]string, []byte, error) {
	overlay, err := catalog.LoadOverlay(cfg.Path(catalog.OverlayFile))
	if err != nil {
		return nil, nil, err
	}
	levels, err := catalog.Levels(cfg.Catalog, overlay)
	if err != nil {
		return nil, nil, err
	}
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, nil, err
	}
	cat, err := catalog.Derive(ctx, catalog.Options{
		Provider: cfg.ID, Organisation: cfg.Organisation, Levels: levels, Overlay: overlay,
		Categories: cv, Policy: holderDecider{pol}, Now: time.Now(),
	})
	if err != nil {
		return nil, nil, err
	}
	tok, err := catalog.Sign(cat, nk.Signer, nk.SigningKID)
	if err != nil {
		return nil, nil, err
	}
	return levels, tok, nil
}
