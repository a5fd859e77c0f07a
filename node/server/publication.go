package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/creditexchange/node/node/lists"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/policy"
)

// PenaltyCategory is the category of administrative penalty decisions,
// public only within their publication window (lists.PenaltyWindow).
const PenaltyCategory = lists.PenaltyCategory

// screenPublication applies the publication window of administrative
// penalties ("double publicity") to a query reaching them only because this
// node's catalogue makes the category public: such a query gets a penalty
// record only from its decision_date through its publication_end
// (inclusive, UTC days; none set: until the 5-year rule of screen ends it).
// A requester that would also reach the category at the shared level (a
// statutory purpose of a public body) gets every retained record. Whether it
// would is asked of the policy with the category at the shared level and
// everything else of the query's input unchanged. A penalty record whose
// dates cannot be read is withheld from public-level queries: fail closed.
func (p *Provider) screenPublication(ctx context.Context, in policy.Input, recs []records.Record, now time.Time) ([]records.Record, error) {
	if p.opts.Catalog[PenaltyCategory] != policy.LevelPublic {
		return recs, nil
	}
	has := false
	for _, r := range recs {
		if r.Category == PenaltyCategory {
			has = true
			break
		}
	}
	if !has {
		return recs, nil
	}
	probe := in
	probe.Categories = []policy.Category{{Name: PenaltyCategory, Level: policy.LevelShared}}
	res, err := p.opts.Policy.Decide(ctx, probe)
	if err != nil {
		return nil, err
	}
	if res.Allow && len(res.Fields[PenaltyCategory]) > 0 {
		return recs, nil // reached at the shared level: the window does not apply
	}
	kept := recs[:0:0]
	for _, r := range recs {
		if r.Category != PenaltyCategory {
			kept = append(kept, r)
			continue
		}
		w, err := lists.PenaltyWindow(r.Data, nil)
		if err != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "penalty withheld from a public-level query: unreadable dates",
				slog.String("record_id", r.ID))
			continue
		}
		if w.Public(now) {
			kept = append(kept, r)
		}
	}
	return kept, nil
}
