package policy

import (
	"encoding/json"
	"time"
)

// QueryLimit is a purpose's fair-use query limit: at most MaxQueries
// allowed queries by one requester about one subject for that purpose in
// any Period.
type QueryLimit struct {
	MaxQueries int
	Period     time.Duration
}

// UsagePeriod returns the fair-use period for purpose (data
// creditnode.config.fair_use[purpose].period_days), or 0 when the purpose
// limits no query rate. The caller counts the requester's allowed queries
// about the subject for that purpose in that period into Input.Usage.
func (e *Engine) UsagePeriod(purpose string) time.Duration {
	return e.limits[purpose].Period
}

// QueryLimit returns purpose's fair-use query limit (data
// creditnode.config.fair_use[purpose]); its Period is 0 when the purpose
// limits no query rate.
func (e *Engine) QueryLimit(purpose string) QueryLimit {
	return e.limits[purpose]
}

// UsagePeriod is the period of the engine in force.
func (h *Holder) UsagePeriod(purpose string) time.Duration {
	return h.QueryLimit(purpose).Period
}

// QueryLimit is the query limit of the engine in force.
func (h *Holder) QueryLimit(purpose string) QueryLimit {
	if e := h.cur.Load(); e != nil {
		return e.QueryLimit(purpose)
	}
	return QueryLimit{}
}

// limitsOf reads the fair-use periods that come with a query limit.
func limitsOf(doc map[string]any) map[string]QueryLimit {
	cn, _ := doc["creditnode"].(map[string]any)
	config, _ := cn["config"].(map[string]any)
	fair, _ := config["fair_use"].(map[string]any)
	out := make(map[string]QueryLimit, len(fair))
	for purpose, v := range fair {
		m, _ := v.(map[string]any)
		days, _ := m["period_days"].(json.Number)
		limit, limited := m["max_queries_per_period"]
		if n, err := days.Int64(); err == nil && n > 0 && limited {
			// A limit the policy compares but that is not an integer is
			// still counted; only the denial message lacks it (0).
			num, _ := limit.(json.Number)
			max, _ := num.Int64()
			out[purpose] = QueryLimit{MaxQueries: int(max), Period: time.Duration(n) * 24 * time.Hour}
		}
	}
	return out
}
