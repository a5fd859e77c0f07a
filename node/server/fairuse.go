package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// QueryLimits are the policy's query-rate limits per purpose
// (policy.Holder, policy.Engine).
type QueryLimits interface {
	QueryLimit(purpose string) policy.QueryLimit
}

// usageCounter is implemented by stores that can count a requester's
// allowed queries about a subject for a purpose from the inquiry log
// (store.SQLite, store.Postgres).
type usageCounter interface {
	AllowedQueries(ctx context.Context, requester, subject, purpose string, since time.Time) (store.Usage, error)
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
	if p.opts.QueryLimits == nil { // only a Provider built without New (unit tests) has none
		return nil
	}
	limit := p.opts.QueryLimits.QueryLimit(in.Purpose)
	if limit.Period <= 0 {
		return nil
	}
	uc, ok := p.opts.Store.(usageCounter)
	if !ok {
		return schemas.Errorf(schemas.CodeStoreUnavailable, "store cannot count usage")
	}
	u, err := uc.AllowedQueries(ctx, in.Requester.ID, in.Subject.ID, in.Purpose, now.Add(-limit.Period))
	if err != nil {
		return schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	in.Usage = policy.Usage{QueriesInPeriod: u.Queries, Limit: limit, OldestInPeriod: u.Oldest}
	return nil
}

// policyDenial is the error for a policy's denial. A denial for the query
// limit tells the requester the limit, how many queries it counted and
// when the period frees a slot (the oldest counted query's time plus the
// period).
func policyDenial(res policy.Result, in policy.Input) *schemas.Error {
	e := schemas.Errorf(res.WireCode(), "denied by policy: %s", strings.Join(res.Reasons, ", "))
	u := in.Usage
	if !slices.Contains(res.Reasons, string(schemas.CodeQueryLimitExceeded)) || u.Limit.Period <= 0 {
		return e
	}
	e.Message += fmt.Sprintf("; purpose %s allows %d queries per %d days about one subject, %d counted",
		in.Purpose, u.Limit.MaxQueries, int(u.Limit.Period/(24*time.Hour)), u.QueriesInPeriod)
	if !u.OldestInPeriod.IsZero() {
		e.Message += ", next slot frees at " + u.OldestInPeriod.Add(u.Limit.Period).UTC().Format(time.RFC3339)
	}
	return e
}
