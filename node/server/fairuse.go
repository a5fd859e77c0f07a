package server

import (
	"context"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// usagePeriods is implemented by deciders whose policy limits query rates
// (policy.Engine, policy.Holder).
type usagePeriods interface {
	UsagePeriod(purpose string) time.Duration
}

// usageCounter is implemented by stores that can count a requester's
// allowed queries about a subject from the inquiry log (store.SQLite).
type usageCounter interface {
	AllowedQueries(ctx context.Context, requester, subject string, since time.Time) (int, error)
}

// addFairUse puts the consent's terms and the requester's usage into the
// policy input. A purpose with a query limit on a store that cannot count
// fails closed.
func (p *Provider) addFairUse(ctx context.Context, in *policy.Input, cons *consent.Consent, now time.Time) *schemas.Error {
	if cons != nil {
		in.Consent.NotBefore = cons.Claims.NotBefore
		in.Consent.Expiry = cons.Claims.Expiry
		in.Consent.MaxUses = cons.Claims.MaxUses
		in.Consent.DataFrom = cons.Claims.DataFrom
		in.Consent.DataTo = cons.Claims.DataTo
	}
	up, ok := p.opts.Policy.(usagePeriods)
	if !ok {
		return nil
	}
	period := up.UsagePeriod(in.Purpose)
	if period <= 0 {
		return nil
	}
	uc, ok := p.opts.Store.(usageCounter)
	if !ok {
		return schemas.Errorf(schemas.CodeStoreUnavailable, "store cannot count usage")
	}
	n, err := uc.AllowedQueries(ctx, in.Requester.ID, in.Subject.ID, now.Add(-period))
	if err != nil {
		return schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	in.Usage.QueriesInPeriod = n
	return nil
}
