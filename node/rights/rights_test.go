package rights_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/creditexchange/node/schemas"
)

const (
	subjA = "91350100M000100Y43"
	subjB = "91110000100000000X"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// testStore is what these tests use of a store backend.
type testStore interface {
	rights.Store
	ImportRecords(ctx context.Context, recs []records.Record) error
	FileObjection(ctx context.Context, o store.Objection, c store.Commit) (store.Appended, error)
	FileRepair(ctx context.Context, r store.Repair, c store.Commit) (store.Appended, error)
	Objections(ctx context.Context, f store.RightsFilter) ([]store.Objection, error)
	RecordFlags(ctx context.Context, subject string) (map[store.RecordKey]store.RecordFlags, error)
	TakeFreeReport(ctx context.Context, subject string, year, limit int) (int, error)
	SubjectInquiries(ctx context.Context, subject string) ([]store.StoredLeaf, error)
	InquiryLeaves(ctx context.Context, from, to uint64) ([]store.StoredLeaf, error)
	InquiryLogSize(ctx context.Context) (uint64, error)
	Close() error
}

var (
	_ testStore = (*store.SQLite)(nil)
	_ testStore = (*store.Postgres)(nil)
)

// eachBackend runs fn once per store backend, as a subtest, with an
// openStore that opens a new, empty store of that backend. PostgreSQL is
// the pgtest server: unreachable, the test fails.
func eachBackend(t *testing.T, fn func(t *testing.T, openStore func(t *testing.T) testStore)) {
	backends := []struct {
		name string
		open func(t *testing.T) (testStore, error)
	}{
		{"sqlite", func(t *testing.T) (testStore, error) {
			return store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "node.db"))
		}},
		{"postgres", func(t *testing.T) (testStore, error) {
			return store.OpenPostgres(context.Background(), pgtest.Schema(t))
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, func(t *testing.T) testStore {
				t.Helper()
				st, err := b.open(t)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			})
		})
	}
}

func rec(subject, category, id, data string, at time.Time) records.Record {
	return records.Record{Subject: subject, Category: category, ID: id, Data: json.RawMessage(data), UpdatedAt: at}
}

// fileObjection files an objection by subject on (category, id) as the server does.
func fileObjection(t *testing.T, st testStore, id, subject, category, recordID string, at time.Time) error {
	t.Helper()
	leaf, err := inquirylog.NewLeaf(schemas.InquiryEntry{Kind: schemas.KindObjection, Subject: subject, Decision: schemas.DecisionAllow, Record: recordID}, at)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.FileObjection(context.Background(),
		store.Objection{ID: id, Subject: subject, Category: category, RecordID: recordID, Reason: "wrong", FiledAt: at},
		store.Commit{Requester: "subject:" + subject, RequestID: id, Leaf: leaf})
	return err
}

func entries(t *testing.T, st testStore, subject string) []schemas.InquiryEntry {
	t.Helper()
	leaves, err := st.SubjectInquiries(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	var out []schemas.InquiryEntry
	for _, l := range leaves {
		le, err := inquirylog.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, le.Entry)
	}
	return out
}

// threats.md item 30: a negative record 5 years past its conduct_end is no
// longer provided; ongoing conduct and non-negative records always are.
func TestRetainedAtFiveYears(t *testing.T) {
	data := json.RawMessage(`{"case_no":"x","conduct_end":"2021-07-15"}`)
	end := time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		negative bool
		data     json.RawMessage
		now      time.Time
		want     bool
		err      error
	}{
		{"5 years minus 1 day", true, data, end.AddDate(0, 0, -1), true, nil},
		{"5 years minus 1 ns", true, data, end.Add(-1), true, nil},
		{"exactly 5 years", true, data, end, false, nil},
		{"5 years plus 1 day", true, data, end.AddDate(0, 0, 1), false, nil},
		{"not negative, long after", false, data, end.AddDate(10, 0, 0), true, nil},
		{"ongoing conduct", true, json.RawMessage(`{"case_no":"x"}`), end.AddDate(10, 0, 0), true, nil},
		{"null conduct_end is ongoing", true, json.RawMessage(`{"conduct_end":null}`), end.AddDate(10, 0, 0), true, nil},
		{"unreadable conduct_end is withheld", true, json.RawMessage(`{"conduct_end":"15/07/2021"}`), end.AddDate(-3, 0, 0), false, rights.ErrBadConductEnd},
		{"numeric conduct_end is withheld", true, json.RawMessage(`{"conduct_end":20210715}`), end.AddDate(-3, 0, 0), false, rights.ErrBadConductEnd},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rights.Retained(tt.negative, tt.data, tt.now)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Fatalf("Retained = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
	// 29 February rolls to 1 March.
	if got := rights.RetentionEnd(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("RetentionEnd(2024-02-29) = %v", got)
	}
}

// threats.md item 31: an objection open past 20 days is overdue, at 20 days
// ± 1 s, in the wire form and in the count.
func TestObjectionOverdueAtTwentyDays(t *testing.T) {
	eachBackend(t, func(t *testing.T, openStore func(t *testing.T) testStore) {
		ctx := context.Background()
		st := openStore(t)
		if err := st.ImportRecords(ctx, []records.Record{rec(subjA, "tax_payment", "t1", `{"year":2025}`, t0)}); err != nil {
			t.Fatal(err)
		}
		if err := fileObjection(t, st, "obj-1", subjA, "tax_payment", "t1", t0); err != nil {
			t.Fatal(err)
		}
		objs, err := st.Objections(ctx, store.RightsFilter{Subject: subjA})
		if err != nil || len(objs) != 1 {
			t.Fatalf("objections = %v, %v", objs, err)
		}
		due := t0.Add(20 * 24 * time.Hour)
		for _, tt := range []struct {
			name string
			now  time.Time
			want bool
		}{
			{"20 days minus 1 s", due.Add(-time.Second), false},
			{"exactly 20 days", due, false},
			{"20 days plus 1 s", due.Add(time.Second), true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := rights.ObjectionOut(objs[0], tt.now)
				if w.Overdue != tt.want || w.DueBy != due.Format(time.RFC3339Nano) {
					t.Fatalf("overdue = %v due %s, want %v", w.Overdue, w.DueBy, tt.want)
				}
				n, err := rights.OverdueCount{Store: st}.OverdueObjections(ctx, tt.now)
				if err != nil || (n == 1) != tt.want {
					t.Fatalf("OverdueObjections = %d, %v; want overdue %v", n, err, tt.want)
				}
			})
		}
		// Answered, it is never overdue.
		m := &rights.Manager{Store: st, Operator: "operator:test", Clock: func() time.Time { return due.Add(time.Hour) }}
		if _, _, err := m.ResolveObjection(ctx, "obj-1", schemas.ObjectionUpheld, "the record is right"); err != nil {
			t.Fatal(err)
		}
		objs, _ = st.Objections(ctx, store.RightsFilter{Subject: subjA})
		if rights.ObjectionOut(objs[0], due.AddDate(1, 0, 0)).Overdue {
			t.Fatal("an answered objection is overdue")
		}
		if n, _ := m.OverdueObjections(ctx, due.AddDate(1, 0, 0)); n != 0 {
			t.Fatalf("overdue count %d after the answer", n)
		}
	})
}

func TestObjectionLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, openStore func(t *testing.T) testStore) {
		ctx := context.Background()
		st := openStore(t)
		if err := st.ImportRecords(ctx, []records.Record{
			rec(subjA, "tax_payment", "t1", `{"year":2025}`, t0),
			rec(subjA, "tax_payment", "t2", `{"year":2024}`, t0),
			rec(subjB, "tax_payment", "b1", `{"year":2025}`, t0),
		}); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Hour)
		m := &rights.Manager{Store: st, Operator: "operator:test", Clock: func() time.Time { return now }}

		// Another subject's record, or a missing one: not found, nothing written.
		if err := fileObjection(t, st, "obj-x", subjA, "tax_payment", "b1", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("objection to another subject's record: %v", err)
		}
		if n := len(entries(t, st, subjA)); n != 0 {
			t.Fatalf("%d entries written by a refused objection", n)
		}
		if err := fileObjection(t, st, "obj-1", subjA, "tax_payment", "t1", t0); err != nil {
			t.Fatal(err)
		}
		if err := fileObjection(t, st, "obj-2", subjA, "tax_payment", "t1", t0); !errors.Is(err, store.ErrAlreadyOpen) {
			t.Fatalf("second open objection: %v", err)
		}
		if err := fileObjection(t, st, "obj-1", subjA, "tax_payment", "t2", t0); !errors.Is(err, store.ErrReplay) {
			t.Fatalf("reused id: %v", err)
		}
		flags, err := st.RecordFlags(ctx, subjA)
		if err != nil || !flags[store.RecordKey{Category: "tax_payment", ID: "t1"}].Disputed || len(flags) != 1 {
			t.Fatalf("flags = %v, %v", flags, err)
		}

		// corrected needs a new version of the record.
		if _, _, err := m.ResolveObjection(ctx, "obj-1", schemas.ObjectionCorrected, "fixed"); !errors.Is(err, store.ErrNotCorrected) {
			t.Fatalf("corrected without re-import: %v", err)
		}
		if _, _, err := m.ResolveObjection(ctx, "obj-1", "deleted", "x"); !errors.Is(err, rights.ErrBadOutcome) {
			t.Fatalf("unknown status: %v", err)
		}
		if _, _, err := m.ResolveObjection(ctx, "obj-1", schemas.ObjectionRemoved, ""); !errors.Is(err, rights.ErrBadOutcome) {
			t.Fatalf("empty answer: %v", err)
		}
		if _, _, err := m.ResolveObjection(ctx, "nope", schemas.ObjectionRemoved, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		if err := st.ImportRecords(ctx, []records.Record{rec(subjA, "tax_payment", "t1", `{"year":2025,"arrears":0}`, t0.Add(time.Minute))}); err != nil {
			t.Fatal(err)
		}
		o, idx, err := m.ResolveObjection(ctx, "obj-1", schemas.ObjectionCorrected, "arrears corrected")
		if err != nil || o.Status != schemas.ObjectionCorrected || o.Outcome != "arrears corrected" || !o.ResolvedAt.Equal(now) {
			t.Fatalf("resolve = %+v, %v", o, err)
		}
		if _, _, err := m.ResolveObjection(ctx, "obj-1", schemas.ObjectionUpheld, "again"); !errors.Is(err, store.ErrNotOpen) {
			t.Fatalf("resolving twice: %v", err)
		}

		// removed: flagged removed for good.
		if err := fileObjection(t, st, "obj-3", subjA, "tax_payment", "t2", t0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.ResolveObjection(ctx, "obj-3", schemas.ObjectionRemoved, "unverifiable"); err != nil {
			t.Fatal(err)
		}
		flags, _ = st.RecordFlags(ctx, subjA)
		if f := flags[store.RecordKey{Category: "tax_payment", ID: "t2"}]; !f.Removed || f.Disputed {
			t.Fatalf("t2 flags = %+v", f)
		}
		if f := flags[store.RecordKey{Category: "tax_payment", ID: "t1"}]; f != (store.RecordFlags{}) {
			t.Fatalf("t1 flags after correction = %+v", f)
		}

		// Every step is in the subject's log: filed, resolved.
		var kinds []string
		for _, e := range entries(t, st, subjA) {
			kinds = append(kinds, e.Kind+":"+e.Outcome)
		}
		want := []string{"objection:", "objection_resolved:corrected", "objection:", "objection_resolved:removed"}
		if len(kinds) != len(want) {
			t.Fatalf("log kinds %v, want %v", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("log kinds %v, want %v", kinds, want)
			}
		}
		if e := entries(t, st, subjA)[1]; e.Record != "t1" || e.RequestID != "obj-1" || e.Requester != "operator:test" {
			t.Fatalf("resolution entry %+v (log index %d)", e, idx)
		}
	})
}

func TestRepairDecision(t *testing.T) {
	eachBackend(t, func(t *testing.T, openStore func(t *testing.T) testStore) {
		ctx := context.Background()
		st := openStore(t)
		if err := st.ImportRecords(ctx, []records.Record{rec(subjA, "administrative_penalty", "p1", `{"conduct_end":"2024-01-01"}`, t0)}); err != nil {
			t.Fatal(err)
		}
		leaf, _ := inquirylog.NewLeaf(schemas.InquiryEntry{Kind: schemas.KindRepair, Subject: subjA, Decision: schemas.DecisionAllow}, t0)
		if _, err := st.FileRepair(ctx, store.Repair{ID: "rep-1", Subject: subjA, Category: "administrative_penalty", RecordID: "p1", Reason: "paid", FiledAt: t0},
			store.Commit{Requester: "subject:" + subjA, RequestID: "rep-1", Leaf: leaf}); err != nil {
			t.Fatal(err)
		}
		m := &rights.Manager{Store: st, Operator: "operator:test", Clock: func() time.Time { return t0.Add(time.Hour) }}
		if _, _, err := m.DecideRepair(ctx, "rep-1", "maybe", "x"); !errors.Is(err, rights.ErrBadOutcome) {
			t.Fatal(err)
		}
		r, _, err := m.DecideRepair(ctx, "rep-1", schemas.RepairApproved, "rectified and trained")
		if err != nil || r.Status != schemas.RepairApproved {
			t.Fatalf("decide = %+v, %v", r, err)
		}
		flags, _ := st.RecordFlags(ctx, subjA)
		if !flags[store.RecordKey{Category: "administrative_penalty", ID: "p1"}].Repaired {
			t.Fatalf("flags = %v", flags)
		}
		if _, _, err := m.DecideRepair(ctx, "rep-1", schemas.RepairRejected, "x"); !errors.Is(err, store.ErrNotOpen) {
			t.Fatal(err)
		}
	})
}

// The purge deletes exactly the expired negative records and logs one entry
// with the count and the ids digest, never contents.
func TestPurgeLogged(t *testing.T) {
	eachBackend(t, func(t *testing.T, openStore func(t *testing.T) testStore) {
		ctx := context.Background()
		st := openStore(t)
		v, err := schemas.NewCategoryValidator()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ImportRecords(ctx, []records.Record{
			rec(subjA, "judicial_enforcement", "old", `{"case_no":"c1","conduct_end":"2021-03-01"}`, t0),
			rec(subjA, "judicial_enforcement", "young", `{"case_no":"c2","conduct_end":"2021-03-02"}`, t0),
			rec(subjA, "judicial_enforcement", "ongoing", `{"case_no":"c3"}`, t0),
			rec(subjB, "administrative_penalty", "older", `{"decision_no":"d","conduct_end":"2019-01-01"}`, t0),
			rec(subjA, "tax_payment", "tax", `{"year":2015,"conduct_end":"2010-01-01"}`, t0),
		}); err != nil {
			t.Fatal(err)
		}
		before, _ := st.InquiryLogSize(ctx)
		m := &rights.Manager{Store: st, Categories: v, Operator: "operator:test", Clock: func() time.Time { return t0 }} // 2026-03-01 09:00
		dry, err := m.Purge(ctx, true)
		if err != nil || len(dry.Expired) != 2 || dry.Deleted != 0 {
			t.Fatalf("dry run = %+v, %v", dry, err)
		}
		if after, _ := st.InquiryLogSize(ctx); after != before {
			t.Fatal("a dry run wrote to the log")
		}
		rep, err := m.Purge(ctx, false)
		if err != nil || rep.Deleted != 2 || rep.Digest != dry.Digest {
			t.Fatalf("purge = %+v, %v", rep, err)
		}
		left, _ := st.RecordsInCategories(ctx, []string{"judicial_enforcement", "administrative_penalty", "tax_payment"})
		var ids []string
		for _, r := range left {
			ids = append(ids, r.ID)
		}
		if len(ids) != 3 || ids[0] != "ongoing" || ids[1] != "young" || ids[2] != "tax" {
			t.Fatalf("left %v", ids)
		}
		leaves, err := st.InquiryLeaves(ctx, rep.LogIndex, rep.LogIndex+1)
		if err != nil || len(leaves) != 1 {
			t.Fatal(err)
		}
		le, err := inquirylog.Decode(leaves[0])
		if err != nil {
			t.Fatal(err)
		}
		e := le.Entry
		if e.Kind != schemas.KindPurge || e.Count != 2 || e.RecordsDigest != rights.IDsDigest(dry.Expired) || e.Subject != "" {
			t.Fatalf("purge entry %+v", e)
		}
		if b := string(leaves[0].Entry); strings.Contains(b, "c1") || strings.Contains(b, "\"old\"") {
			t.Fatalf("purge entry holds ids or contents: %s", b)
		}
		// Nothing left to purge: nothing logged.
		if again, err := m.Purge(ctx, false); err != nil || len(again.Expired) != 0 {
			t.Fatalf("second purge = %+v, %v", again, err)
		}
		if size, _ := st.InquiryLogSize(ctx); size != before+1 {
			t.Fatalf("log grew to %d, want %d", size, before+1)
		}
	})
}

// threats.md item 30: the third free report of a calendar year is refused;
// the count starts again in the next year and is per subject.
func TestFreeReports(t *testing.T) {
	eachBackend(t, func(t *testing.T, openStore func(t *testing.T) testStore) {
		ctx := context.Background()
		st := openStore(t)
		for i := 1; i <= 2; i++ {
			if n, err := st.TakeFreeReport(ctx, subjA, 2026, 2); err != nil || n != i {
				t.Fatalf("report %d: %d, %v", i, n, err)
			}
		}
		if _, err := st.TakeFreeReport(ctx, subjA, 2026, 2); !errors.Is(err, store.ErrFreeReportsExhausted) {
			t.Fatalf("third report: %v", err)
		}
		if _, err := st.TakeFreeReport(ctx, subjB, 2026, 2); err != nil {
			t.Fatalf("another subject: %v", err)
		}
		if _, err := st.TakeFreeReport(ctx, subjA, 2027, 2); err != nil {
			t.Fatalf("next year: %v", err)
		}
	})
}
