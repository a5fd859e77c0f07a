package server

import (
	"slices"
	"testing"

	"github.com/creditexchange/node/node/records"
)

// TestFilterDataRangeBoundaries: a record is kept when its period overlaps
// the inclusive range, per category's date field.
func TestFilterDataRangeBoundaries(t *testing.T) {
	rec := func(cat, data string) records.Record {
		return records.Record{Category: cat, ID: data, Data: []byte(data)}
	}
	cases := []struct {
		name     string
		from, to string
		rec      records.Record
		keep     bool
	}{
		{"year: last day of the year is in", "2024-12-31", "", rec("tax_payment", `{"year":2024}`), true},
		{"year: day after is out", "2025-01-01", "", rec("tax_payment", `{"year":2024}`), false},
		{"year: to on the first day is in", "", "2025-01-01", rec("customs", `{"year":2025}`), true},
		{"year: to the day before is out", "", "2024-12-31", rec("customs", `{"year":2025}`), false},
		{"month: from on the last day is in", "2024-02-29", "", rec("social_insurance", `{"month":"2024-02"}`), true},
		{"month: from the next day is out", "2024-03-01", "", rec("social_insurance", `{"month":"2024-02"}`), false},
		{"month: to the first day is in", "", "2024-03-01", rec("utility_payment", `{"month":"2024-03"}`), true},
		{"month: to the day before is out", "", "2024-02-29", rec("utility_payment", `{"month":"2024-03"}`), false},
		{"day: from that day is in", "2024-05-10", "", rec("administrative_penalty", `{"decision_date":"2024-05-10"}`), true},
		{"day: from the next day is out", "2024-05-11", "", rec("administrative_penalty", `{"decision_date":"2024-05-10"}`), false},
		{"day: to that day is in", "", "2024-05-10", rec("judicial_enforcement", `{"filed":"2024-05-10"}`), true},
		{"day: to the day before is out", "", "2024-05-09", rec("judicial_enforcement", `{"filed":"2024-05-10"}`), false},
		{"day: listed_on inside both bounds", "2024-01-01", "2024-12-31", rec("abnormal_operation", `{"listed_on":"2024-06-30"}`), true},
		{"undated category is kept", "2030-01-01", "2030-01-02", rec("registration", `{"name":"x"}`), true},
		{"missing date is dropped", "2020-01-01", "", rec("untrustworthy_list", `{"list":"x"}`), false},
		{"year as a string is dropped", "2020-01-01", "", rec("tax_payment", `{"year":"2024"}`), false},
		{"bad month is dropped", "2020-01-01", "", rec("social_insurance", `{"month":"2024-13"}`), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ob := map[string]any{"retention_days": int64(30)}
			if tc.from != "" {
				ob["data_from"] = tc.from
			}
			if tc.to != "" {
				ob["data_to"] = tc.to
			}
			got, err := filterDataRange([]records.Record{tc.rec}, ob)
			if err != nil {
				t.Fatal(err)
			}
			if kept := len(got) == 1; kept != tc.keep {
				t.Fatalf("kept %v, want %v", kept, tc.keep)
			}
		})
	}
}

func TestFilterDataRangeWithoutRange(t *testing.T) {
	recs := []records.Record{{Category: "tax_payment", Data: []byte(`{}`)}, {Category: "registration", Data: []byte(`{}`)}}
	got, err := filterDataRange(recs, map[string]any{"retention_days": int64(30)})
	if err != nil || !slices.EqualFunc(got, recs, func(a, b records.Record) bool { return a.Category == b.Category }) {
		t.Fatalf("%v, %v", got, err)
	}
	if _, err := filterDataRange(recs, map[string]any{"data_from": "01/02/2024"}); err == nil {
		t.Fatal("a bound that is not a date was accepted")
	}
	if _, err := filterDataRange(recs, map[string]any{"data_to": int64(5)}); err == nil {
		t.Fatal("a bound that is not a string was accepted")
	}
}
