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
	"github.com/creditexchange/node/policy"
)

func TestScreenPublication(t *testing.T) {
	ctx := context.Background()
	engine, err := policy.New(ctx, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	provider := func(level string) *Provider {
		return &Provider{log: slog.New(slog.NewTextHandler(io.Discard, nil)), opts: Options{Policy: engine,
			Catalog: map[string]string{PenaltyCategory: level, "registration": policy.LevelPublic}}}
	}
	rec := func(id, data string) records.Record {
		return records.Record{Subject: "s", Category: PenaltyCategory, ID: id, Data: json.RawMessage(data)}
	}
	recs := []records.Record{
		rec("open", `{"decision_no":"D1","authority":"A","decision_date":"2026-03-10","violation":"v","penalty":"p"}`),
		rec("bounded", `{"decision_no":"D2","authority":"A","decision_date":"2026-03-10","violation":"v","penalty":"p","publication_end":"2026-09-10"}`),
		rec("bad", `{"decision_no":"D3","authority":"A","decision_date":"10/03/2026","violation":"v","penalty":"p"}`),
		{Subject: "s", Category: "registration", ID: "reg", Data: json.RawMessage(`{}`)},
	}
	input := func(role, purpose string) policy.Input {
		return policy.Input{
			Requester:  policy.Requester{ID: "req", Organisation: "R", Roles: []string{role}, Jurisdiction: "CN"},
			Provider:   policy.Provider{ID: "prov", Jurisdiction: "CN"},
			Subject:    policy.Subject{ID: "91350100M000100Y43", Type: "enterprise"},
			Purpose:    purpose,
			Categories: []policy.Category{{Name: PenaltyCategory, Level: policy.LevelPublic}, {Name: "registration", Level: policy.LevelPublic}},
			Time:       time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC),
		}
	}
	bank := input("bank", "loan_approval")
	dept := input("department", "administrative_supervision")
	day := func(s string, hour int) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(time.Duration(hour) * time.Hour)
	}
	for _, tc := range []struct {
		name  string
		level string
		in    policy.Input
		now   time.Time
		want  []string
	}{
		{"public: day before decision", policy.LevelPublic, bank, day("2026-03-09", 23), []string{"reg"}},
		{"public: decision day", policy.LevelPublic, bank, day("2026-03-10", 0), []string{"open", "bounded", "reg"}},
		{"public: publication_end", policy.LevelPublic, bank, day("2026-09-10", 23), []string{"open", "bounded", "reg"}},
		{"public: day after publication_end", policy.LevelPublic, bank, day("2026-09-11", 0), []string{"open", "reg"}},
		{"public, statutory purpose: day before decision", policy.LevelPublic, dept, day("2026-03-09", 23), []string{"open", "bounded", "bad", "reg"}},
		{"public, statutory purpose: after publication_end", policy.LevelPublic, dept, day("2026-09-11", 0), []string{"open", "bounded", "bad", "reg"}},
		{"shared catalogue: no window", policy.LevelShared, dept, day("2026-09-11", 0), []string{"open", "bounded", "bad", "reg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Time = tc.now
			got, err := provider(tc.level).screenPublication(ctx, tc.in, slices.Clone(recs), tc.now)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("kept %v, want %v", ids, tc.want)
			}
		})
	}
}
