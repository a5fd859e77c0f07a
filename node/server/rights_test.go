package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// flagStore serves fixed record flags; the other RightsStore methods are not
// used by screen.
type flagStore struct {
	RightsStore
	flags map[store.RecordKey]store.RecordFlags
}

func (f flagStore) RecordFlags(context.Context, string) (map[store.RecordKey]store.RecordFlags, error) {
	return f.flags, nil
}

func TestScreen(t *testing.T) {
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{log: slog.New(slog.NewTextHandler(io.Discard, nil)), opts: Options{Categories: v, Rights: flagStore{flags: map[store.RecordKey]store.RecordFlags{
		{Category: "tax_payment", ID: "disputed"}:          {Disputed: true},
		{Category: "tax_payment", ID: "removed"}:           {Removed: true},
		{Category: "judicial_enforcement", ID: "repaired"}: {Repaired: true},
	}}}}
	rec := func(cat, id, data string) records.Record {
		return records.Record{Subject: "s", Category: cat, ID: id, Data: json.RawMessage(data)}
	}
	recs := []records.Record{
		rec("tax_payment", "plain", `{"year":2025}`),
		rec("tax_payment", "disputed", `{"year":2024}`),
		rec("tax_payment", "removed", `{"year":2023}`),
		rec("judicial_enforcement", "repaired", `{"case_no":"r"}`),
		rec("judicial_enforcement", "expired", `{"case_no":"e","conduct_end":"2021-03-01"}`),
		rec("judicial_enforcement", "young", `{"case_no":"y","conduct_end":"2021-03-02"}`),
		rec("judicial_enforcement", "bad_date", `{"case_no":"b","conduct_end":"yesterday"}`),
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // 5 years after 2021-03-01, 1 day short for 2021-03-02
	decision := func(withhold bool) *policy.Result {
		return &policy.Result{Allow: true, Obligations: map[string]any{rights.ObligationWithholdRepaired: withhold}}
	}
	for _, tt := range []struct {
		name string
		d    *policy.Result
		want []string
	}{
		// loan_approval: the policy withholds repaired records.
		{"repair withheld", decision(true), []string{"plain", "disputed", "young"}},
		// judicial_enforcement: still visible.
		{"repair visible", decision(false), []string{"plain", "disputed", "repaired", "young"}},
		// A policy that says nothing does not withhold.
		{"no obligation", &policy.Result{Allow: true}, []string{"plain", "disputed", "repaired", "young"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kept, disputed, err := p.screen(context.Background(), "s", slices.Clone(recs), tt.d, now)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range kept {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("kept %v, want %v", ids, tt.want)
			}
			if len(disputed) != 1 || !disputed[store.RecordKey{Category: "tax_payment", ID: "disputed"}] {
				t.Fatalf("disputed = %v", disputed)
			}
		})
	}
	// Without a rights store, retention still applies.
	p.opts.Rights = nil
	kept, _, err := p.screen(context.Background(), "s", slices.Clone(recs), decision(true), now)
	if err != nil || len(kept) != 5 {
		t.Fatalf("kept %d, %v", len(kept), err)
	}
}

func TestRecordOutDisputedOmittedWhenFalse(t *testing.T) {
	b, _ := json.Marshal(schemas.RecordOut{Category: "c", ID: "i", Data: json.RawMessage(`{}`)})
	if string(b) != `{"category":"c","id":"i","data":{}}` {
		t.Fatalf("undisputed record changed its wire form: %s", b)
	}
	b, _ = json.Marshal(schemas.RecordOut{Category: "c", ID: "i", Data: json.RawMessage(`{}`), Disputed: true})
	if string(b) != `{"category":"c","id":"i","data":{},"disputed":true}` {
		t.Fatalf("disputed record: %s", b)
	}
}
