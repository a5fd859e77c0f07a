package lists

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(15 * time.Hour) // mid-afternoon: only the date counts
}

func listed() Entry {
	return Entry{List: "seriously_untrustworthy", ListName: "Food safety", Authority: "Bureau", DecidedOn: "2024-03-01", ListedOn: "2024-03-04",
		PublicationEnd: "2027-03-03",
		Measures: []Measure{
			{Code: "procurement_ban", Description: "excluded from public procurement", Until: "2026-03-03"},
			{Code: "intensified_inspection", Description: "inspected more often"},
		}}
}

func TestEvaluateBoundaries(t *testing.T) {
	repaired := listed()
	repaired.RemovedOn, repaired.RemovalReason = "2025-01-10", "repaired"
	ended := listed()
	ended.ConductEnd = "2024-06-30"
	for _, tc := range []struct {
		name                       string
		e                          Entry
		at                         string
		inForce, published, retain bool
		measures                   int
	}{
		{"day before listing", listed(), "2024-03-03", false, false, true, 0},
		{"listing day", listed(), "2024-03-04", true, true, true, 2},
		{"last day of the fixed-term measure", listed(), "2026-03-03", true, true, true, 2},
		{"day after the fixed-term measure", listed(), "2026-03-04", true, true, true, 1},
		{"last public day", listed(), "2027-03-03", true, true, true, 1},
		{"publication period over, still listed", listed(), "2027-03-04", true, false, true, 1},
		{"day before repair", repaired, "2025-01-09", true, true, true, 2},
		{"repair removes publication and measures", repaired, "2025-01-10", false, false, true, 0},
		// Negative information: provided until 5 years after conduct_end.
		{"last day of retention", ended, "2029-06-29", true, false, true, 1},
		{"5 years after the conduct ended", ended, "2029-06-30", false, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Evaluate(tc.e, date(tc.at))
			if err != nil {
				t.Fatal(err)
			}
			if st.InForce != tc.inForce || st.Published != tc.published || st.Retained != tc.retain || len(st.Measures) != tc.measures {
				t.Fatalf("got %+v", st)
			}
		})
	}
	bad := listed()
	bad.RemovedOn = "2025-02-30"
	if _, err := Evaluate(bad, date("2025-01-01")); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("bad date: %v", err)
	}
}

type holidays map[string]bool

func (h holidays) Holiday(d time.Time) bool { return h[d.Format(time.DateOnly)] }

func TestWorkingDays(t *testing.T) {
	// Decided Thursday 2026-01-01: 7 working days (Mon–Fri) later is Monday 2026-01-12.
	for _, tc := range []struct {
		decided, due string
		cal          Calendar
	}{
		{"2026-01-01", "2026-01-12", nil},
		{"2026-01-02", "2026-01-13", nil}, // Friday
		{"2026-01-03", "2026-01-13", nil}, // Saturday: counting starts Monday
		{"2026-01-05", "2026-01-14", nil}, // Monday
		{"2026-01-01", "2026-01-13", holidays{"2026-01-02": true}},
	} {
		if got := AddWorkingDays(date(tc.decided), PublicationWorkingDays, tc.cal); got.Format(time.DateOnly) != tc.due {
			t.Errorf("decided %s: due %s, want %s", tc.decided, got.Format(time.DateOnly), tc.due)
		}
	}
	if AddWorkingDays(date("2026-01-03"), 0, nil).Format(time.DateOnly) != "2026-01-03" {
		t.Error("0 working days is the same date")
	}
}

func TestPenaltyWindow(t *testing.T) {
	w, err := PenaltyWindow(json.RawMessage(`{"decision_no":"1","decision_date":"2026-01-01","publication_end":"2026-07-01"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at              string
		public, overdue bool
	}{
		{"2025-12-31", false, false},
		{"2026-01-01", true, false},
		{"2026-01-12", true, false}, // the 7th working day: still in time
		{"2026-01-13", true, true},  // the 8th: overdue if not yet published
		{"2026-07-01", true, true},
		{"2026-07-02", false, true}, // publication period over
	} {
		if w.Public(date(tc.at)) != tc.public || w.Overdue(date(tc.at)) != tc.overdue {
			t.Errorf("%s: public %v overdue %v", tc.at, w.Public(date(tc.at)), w.Overdue(date(tc.at)))
		}
	}
	if _, err := PenaltyWindow(json.RawMessage(`{"publication_end":"2026-07-01"}`), nil); !errors.Is(err, ErrBadEntry) {
		t.Errorf("no decision date: %v", err)
	}
}

// fakeQuerier answers from canned records per provider.
type fakeQuerier map[string][]schemas.RecordOut

func (f fakeQuerier) Query(_ context.Context, q peer.Query) (*peer.Result, error) {
	recs, ok := f[q.Provider]
	if !ok {
		return nil, schemas.Errorf(schemas.CodeCategoryUnknown, "no such category")
	}
	if q.Purpose != Purpose || len(q.Categories) != 1 || q.Categories[0] != Category {
		return nil, schemas.Errorf(schemas.CodePurposeNotPermitted, "bad query")
	}
	return &peer.Result{Response: schemas.QueryResponse{Subject: q.Subject, Records: recs}}, nil
}

func rec(id string, e Entry) schemas.RecordOut {
	b, _ := json.Marshal(e)
	return schemas.RecordOut{Category: Category, ID: id, Data: b}
}

func TestCheckMerges(t *testing.T) {
	a := listed()
	b := listed()
	b.Measures = []Measure{{Code: "procurement_ban", Description: "excluded", Until: "2026-09-30"}, {Code: "subsidy_ban", Description: "no subsidies", Until: "2026-12-31"}}
	repaired := listed()
	repaired.RemovedOn, repaired.RemovalReason = "2025-01-10", "repaired"
	repaired.Measures = []Measure{{Code: "licence_restriction", Description: "no new licences"}}
	q := fakeQuerier{
		"market-reg": {rec("l1", a), rec("l2", repaired)},
		"court":      {rec("d1", b)},
		"tax-dept":   nil,
	}
	c := &Checker{Querier: q, Clock: func() time.Time { return date("2026-05-04") }}
	out, err := c.Check(context.Background(), "91330106MA10000095", []string{"tax-dept", "market-reg", "court", "customs", "court"})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Listed() || out.Complete() || len(out.Failed) != 1 || out.Failed[0].Provider != "customs" {
		t.Fatalf("outcome: listed %v failed %+v", out.Listed(), out.Failed)
	}
	if len(out.Checked) != 3 || len(out.Findings) != 3 || out.Findings[2].Status.InForce {
		t.Fatalf("findings: %+v", out.Findings)
	}
	want := []Applied{
		{Code: "intensified_inspection", Description: "inspected more often", ImposedBy: []string{"market-reg/l1"}},
		{Code: "procurement_ban", Description: "excluded", Until: "2026-09-30", ImposedBy: []string{"court/d1"}},
		{Code: "subsidy_ban", Description: "no subsidies", Until: "2026-12-31", ImposedBy: []string{"court/d1"}},
	}
	if len(out.Measures) != len(want) {
		t.Fatalf("measures: %+v", out.Measures)
	}
	for i, m := range out.Measures {
		if m.Code != want[i].Code || m.Until != want[i].Until || len(m.ImposedBy) != len(want[i].ImposedBy) || m.ImposedBy[0] != want[i].ImposedBy[0] {
			t.Errorf("measure %d: %+v, want %+v", i, m, want[i])
		}
	}
	// procurement_ban of l1 ended 2026-03-03; l2's licence_restriction ended with the repair.
}

func FuzzEvaluate(f *testing.F) {
	b, _ := json.Marshal(listed())
	f.Add(b)
	f.Add([]byte(`{"listed_on":"2024-02-30"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Entry
		if json.Unmarshal(data, &e) != nil {
			return
		}
		st, err := Evaluate(e, date("2026-05-04"))
		if err == nil && !st.InForce && (st.Published || len(st.Measures) > 0) {
			t.Fatalf("published or measures without being in force: %+v", st)
		}
		PenaltyWindow(data, nil)
	})
}
