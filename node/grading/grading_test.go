package grading

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

const subject = "91350100M000100Y43"

var now = time.Date(2025, 6, 30, 9, 0, 0, 0, time.UTC)

func rec(cat, id, data string) records.Record {
	return records.Record{Subject: subject, Category: cat, ID: id, Data: json.RawMessage(data)}
}

func engine(t *testing.T) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func validator(t *testing.T) *schemas.CategoryValidator {
	t.Helper()
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGradeFromRecords(t *testing.T) {
	e, v := engine(t), validator(t)
	for _, tc := range []struct {
		name    string
		recs    []records.Record
		want    string
		reasons []string
	}{
		{"clean", []records.Record{rec("tax_payment", "t1", `{"year":2024,"tax_paid":1,"tax_credit_grade":"A"}`)}, "A", nil},
		{"recent fine", []records.Record{rec("administrative_penalty", "p1",
			`{"decision_no":"1","authority":"x","decision_date":"2025-01-02","violation":"v","penalty":"fine","amount":2000}`)}, "B", []string{"penalty_recent"}},
		{"fine older than 5 years after conduct", []records.Record{rec("administrative_penalty", "p1",
			`{"decision_no":"1","authority":"x","decision_date":"2025-01-02","violation":"v","penalty":"fine","amount":2000,"conduct_end":"2020-01-01"}`)}, "A", nil},
		{"abnormal operation listed", []records.Record{rec("abnormal_operation", "a1", `{"listed_on":"2025-03-01","reason":"r","authority":"x"}`)}, "C", []string{"abnormal_operation_listed"}},
		{"abnormal operation removed", []records.Record{rec("abnormal_operation", "a1", `{"listed_on":"2025-03-01","reason":"r","authority":"x","removed_on":"2025-06-30"}`)}, "A", nil},
		{"overdue commitment", []records.Record{rec("commitment", "c1",
			`{"matter":"m","authority":"x","text_digest":"sha256:00","made_on":"2025-01-01","due":"2025-06-29","status":"pending"}`)}, "C", []string{"commitment_overdue"}},
		{"commitment due today", []records.Record{rec("commitment", "c1",
			`{"matter":"m","authority":"x","text_digest":"sha256:00","made_on":"2025-01-01","due":"2025-06-30","status":"pending"}`)}, "A", nil},
		{"listed", []records.Record{rec("untrustworthy_list", "l1",
			`{"list":"seriously_untrustworthy","list_name":"n","authority":"x","listed_on":"2025-01-01","measures":[]}`)}, "D", []string{"untrustworthy_listed"}},
		{"list entry removed after repair", []records.Record{rec("untrustworthy_list", "l1",
			`{"list":"seriously_untrustworthy","list_name":"n","authority":"x","listed_on":"2024-01-01","measures":[],"removed_on":"2025-01-01","removal_reason":"repaired"}`)}, "A", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Grade(context.Background(), e, subject, []Source{{Name: "local", Records: tc.recs}}, now, v)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Complete() {
				t.Fatalf("problems: %+v", rep.Problems)
			}
			var got []string
			for _, r := range rep.Grading.Reasons {
				got = append(got, r.Code)
			}
			if rep.Grading.Grade != tc.want || len(got) != len(tc.reasons) || (len(got) > 0 && got[0] != tc.reasons[0]) {
				t.Fatalf("grade %s %v, want %s %v", rep.Grading.Grade, got, tc.want, tc.reasons)
			}
		})
	}
}

func TestBadRecordIsAProblemNotAFact(t *testing.T) {
	in, problems := Facts(subject, []Source{{Name: "m", Records: []records.Record{
		rec("administrative_penalty", "p1", `{"decision_date":"yesterday","penalty":"fine"}`),
		rec("registration", "r1", `{"name":"x"}`),                                       // not graded: ignored
		{Subject: "OTHER", Category: "untrustworthy_list", ID: "x", Data: []byte(`{}`)}, // other subject: ignored
	}}}, now, validator(t))
	if len(problems) != 1 || problems[0].RecordID != "p1" || !errors.Is(problems[0].Err, ErrBadRecord) {
		t.Fatalf("problems = %+v", problems)
	}
	if len(in.Penalties) != 0 || len(in.ListEntries) != 0 {
		t.Fatalf("facts = %+v", in)
	}
}

type fakeStore []records.Record

func (f fakeStore) Records(_ context.Context, s string, cats []string) ([]records.Record, error) {
	if len(cats) != len(Categories()) {
		return nil, errors.New("wrong categories")
	}
	return f, nil
}

type fakeQuerier struct{ fail map[string]bool }

func (f fakeQuerier) Query(_ context.Context, q peer.Query) (*peer.Result, error) {
	if f.fail[q.Provider] {
		return nil, schemas.Errorf(schemas.CodePeerUnavailable, "down")
	}
	if q.Purpose != Purpose {
		return nil, errors.New("wrong purpose")
	}
	res := &peer.Result{}
	for _, c := range q.Categories {
		if c == "abnormal_operation" {
			res.Response.Records = append(res.Response.Records, schemas.RecordOut{Category: c, ID: q.Provider + "-a",
				Data: json.RawMessage(`{"listed_on":"2025-03-01","reason":"r","authority":"x"}`)})
		}
	}
	return res, nil
}

func TestGatherLocalAndPeers(t *testing.T) {
	g := &Gatherer{Local: fakeStore{rec("tax_payment", "t1", `{"year":2024,"tax_paid":1,"tax_credit_grade":"M"}`)},
		Querier: fakeQuerier{fail: map[string]bool{"down": true}}}
	srcs, problems, err := g.Gather(context.Background(), subject, []Ask{
		{Provider: "market-reg", Categories: []string{"registration", "abnormal_operation"}},
		{Provider: "down", Categories: []string{"administrative_penalty"}},
		{Provider: "utility", Categories: []string{"utility_payment"}}, // nothing graded: not asked
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Source != "down" {
		t.Fatalf("problems = %+v", problems)
	}
	rep, err := Grade(context.Background(), engine(t), subject, srcs, now, validator(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Grading.Grade != "C" || len(rep.Grading.Reasons) != 2 {
		t.Fatalf("grade = %+v", rep.Grading)
	}
	if got := rep.Input.AbnormalOperations; len(got) != 1 || got[0].Ref != "market-reg/market-reg-a" {
		t.Fatalf("abnormal facts = %+v", got)
	}
}

// A severe penalty this node holds through tax-dept's feed ("tax-dept/p1") and
// the same penalty in tax-dept's live answer ("p1") are one fact: one severe
// penalty grades C, two would grade D (severe_penalties_repeated).
func TestRecordFromFeedAndLiveAnswerCountsOnce(t *testing.T) {
	e, v := engine(t), validator(t)
	const severe = `{"decision_no":"1","authority":"x","decision_date":"2025-01-02","violation":"v","penalty":"fine","amount":2000000}`
	feedCopy := rec("administrative_penalty", "tax-dept/p1", severe)
	live := rec("administrative_penalty", "p1", severe)
	other := rec("administrative_penalty", "p2", severe)
	for _, tc := range []struct {
		name      string
		srcs      []Source
		penalties int
		grade     string
	}{
		{"feed copy and live answer", []Source{{Name: LocalSource, Self: "bank-a", Records: []records.Record{feedCopy}}, {Name: "tax-dept", Records: []records.Record{live}}}, 1, "C"},
		{"live answer and feed copy", []Source{{Name: "tax-dept", Records: []records.Record{live}}, {Name: LocalSource, Self: "bank-a", Records: []records.Record{feedCopy}}}, 1, "C"},
		{"two records of one provider", []Source{{Name: "tax-dept", Records: []records.Record{live, other}}}, 2, "D"},
		{"same id at two providers", []Source{{Name: "tax-dept", Records: []records.Record{live}}, {Name: "market-reg", Records: []records.Record{live}}}, 2, "D"},
		{"own record and a peer's with the same id", []Source{{Name: LocalSource, Self: "bank-a", Records: []records.Record{live}}, {Name: "tax-dept", Records: []records.Record{live}}}, 2, "D"},
		{"feed copy of this node's own provider id", []Source{{Name: LocalSource, Self: "tax-dept", Records: []records.Record{live, feedCopy}}}, 1, "C"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, problems := Facts(subject, tc.srcs, now, v)
			if len(problems) != 0 {
				t.Fatalf("problems: %+v", problems)
			}
			if len(in.Penalties) != tc.penalties {
				t.Fatalf("%d penalty facts, want %d: %+v", len(in.Penalties), tc.penalties, in.Penalties)
			}
			rep, err := Grade(context.Background(), e, subject, tc.srcs, now, v)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Grading.Grade != tc.grade {
				t.Fatalf("grade %s, want %s (%+v)", rep.Grading.Grade, tc.grade, rep.Grading.Reasons)
			}
		})
	}
}
