package policy

import (
	"encoding/json"
	"time"
)

// UsagePeriod returns the fair-use period for purpose (data
// creditnode.config.fair_use[purpose].period_days), or 0 when the purpose
// limits no query rate. The caller counts the requester's allowed queries
// about the subject in that period into Input.Usage.
func (e *Engine) UsagePeriod(purpose string) time.Duration {
	return e.periods[purpose]
}

// UsagePeriod is the period of the engine in force.
func (h *Holder) UsagePeriod(purpose string) time.Duration {
	if e := h.cur.Load(); e != nil {
		return e.UsagePeriod(purpose)
	}
	return 0
}

// periodsOf reads the fair-use periods that come with a query limit.
func periodsOf(doc map[string]any) map[string]time.Duration {
	cn, _ := doc["creditnode"].(map[string]any)
	config, _ := cn["config"].(map[string]any)
	fair, _ := config["fair_use"].(map[string]any)
	out := make(map[string]time.Duration, len(fair))
	for purpose, v := range fair {
		m, _ := v.(map[string]any)
		days, _ := m["period_days"].(json.Number)
		_, limited := m["max_queries_per_period"]
		if n, err := days.Int64(); err == nil && n > 0 && limited {
			out[purpose] = time.Duration(n) * 24 * time.Hour
		}
	}
	return out
}
