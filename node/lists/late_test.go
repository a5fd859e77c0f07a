package lists

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
)

func TestLatePublications(t *testing.T) {
	// Decided Monday 2026-03-02: due on the 7th working day, Wednesday 2026-03-11.
	pen := json.RawMessage(`{"decision_no":"D1","authority":"A","decision_date":"2026-03-02","violation":"v","penalty":"p"}`)
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	recs := []records.Record{
		{Subject: "s", Category: PenaltyCategory, ID: "same-day", Data: pen, UpdatedAt: at("2026-03-02T09:00:00Z")},
		{Subject: "s", Category: PenaltyCategory, ID: "due-day", Data: pen, UpdatedAt: at("2026-03-11T23:59:59Z")},
		{Subject: "s", Category: PenaltyCategory, ID: "due-day-beijing", Data: pen, UpdatedAt: at("2026-03-12T07:00:00+08:00")},
		{Subject: "s", Category: PenaltyCategory, ID: "day-after", Data: pen, UpdatedAt: at("2026-03-12T00:00:00Z")},
		{Subject: "s", Category: PenaltyCategory, ID: "no-time", Data: pen},
		{Subject: "s", Category: PenaltyCategory, ID: "bad", Data: json.RawMessage(`{"decision_date":"March"}`), UpdatedAt: at("2026-03-12T00:00:00Z")},
		{Subject: "s", Category: "tax_payment", ID: "other", Data: json.RawMessage(`{"year":2020}`), UpdatedAt: at("2026-03-12T00:00:00Z")},
	}
	late, unknown := LatePublications(recs, nil)
	if unknown != 2 {
		t.Errorf("unknown = %d, want 2", unknown)
	}
	if len(late) != 1 || late[0].ID != "day-after" || !late[0].Due.Equal(date("2026-03-11").Truncate(24*time.Hour)) {
		t.Fatalf("late = %+v", late)
	}
	// A holiday on the due day moves the deadline to the next working day.
	late, _ = LatePublications(recs, holidays{"2026-03-05": true})
	if len(late) != 0 {
		t.Errorf("with a holiday: late = %+v", late)
	}
}
