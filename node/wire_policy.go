package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/url"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/policyload"
	"github.com/creditexchange/node/policy"
)

// openPolicy compiles the embedded policy and, when the config names a
// signed bundle, a loader that replaces it. The first load happens here, so a
// node whose bundle verifies starts on it; a refused bundle is logged and the
// embedded policy stays in force until a good one appears.
func openPolicy(ctx context.Context, cfg *config.Config, authority ed25519.PublicKey, logger *slog.Logger) (*policy.Holder, *policyload.Loader, error) {
	eng, err := policy.New(ctx, policy.Options{})
	if err != nil {
		return nil, nil, err
	}
	holder := policy.NewHolder(eng)
	if cfg.Policy.Bundle == "" {
		return holder, nil, nil
	}
	src := cfg.Policy.Bundle
	if u, err := url.Parse(src); err != nil || u.Scheme != "https" {
		src = cfg.Path(src)
	}
	l, err := policyload.New(policyload.Options{
		Source:    src,
		Authority: policy.Authority{KeyID: keys.SigningKID(authority), Key: authority},
		Holder:    holder,
		State:     cfg.Path(policyload.StateFile),
		Poll:      cfg.Policy.Poll.D(),
		Logger:    logger,
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := l.Check(ctx); err != nil && !errors.Is(err, policyload.ErrUnchanged) {
		logger.LogAttrs(ctx, slog.LevelWarn, "policy bundle refused at start; embedded policy in force",
			slog.String("source", src), slog.Any("err", err))
	}
	return holder, l, nil
}
