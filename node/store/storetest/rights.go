package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// RightsBackend is the store as the subject-rights workflow (node/rights)
// uses it.
type RightsBackend interface {
	Close() error
	ImportRecords(ctx context.Context, recs []records.Record) error
	InquiryLogSize(ctx context.Context) (uint64, error)
	InquiryLeaves(ctx context.Context, from, to uint64) ([]store.StoredLeaf, error)
	FileObjection(ctx context.Context, o store.Objection, c store.Commit) (store.Appended, error)
	FileRepair(ctx context.Context, r store.Repair, c store.Commit) (store.Appended, error)
	ResolveObjection(ctx context.Context, r store.Resolution, entry func(store.Objection) (store.Leaf, error)) (store.Objection, store.Appended, error)
	DecideRepair(ctx context.Context, r store.Resolution, entry func(store.Repair) (store.Leaf, error)) (store.Repair, store.Appended, error)
	Objections(ctx context.Context, f store.RightsFilter) ([]store.Objection, error)
	Repairs(ctx context.Context, f store.RightsFilter) ([]store.Repair, error)
	CountOpenObjections(ctx context.Context, filedBefore time.Time) (int, error)
	RecordFlags(ctx context.Context, subject string) (map[store.RecordKey]store.RecordFlags, error)
	TakeFreeReport(ctx context.Context, subject string, year, limit int) (int, error)
	RecordsInCategories(ctx context.Context, categories []string) ([]records.Record, error)
	PurgeRecords(ctx context.Context, recs []store.PurgedRecord, l store.Leaf) (int, store.Appended, error)
}

// RunRights runs the subject-rights suite; newDB returns an opener of a new,
// empty database per test.
func RunRights[B RightsBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	runSuite(t, newDB, []suiteCase[func(context.Context) (B, error)]{
		{"ObjectionLifecycle", testObjectionLifecycle[B]},
		{"RepairDecision", testRepairDecision[B]},
		{"FreeReportsConcurrent", testFreeReportsConcurrent[B]},
		{"PurgeWithItsLeaf", testPurge[B]},
	})
}

func objection(id, subject, recordID string, at time.Time) store.Objection {
	return store.Objection{ID: id, Subject: subject, Category: "loans", RecordID: recordID, Reason: "not mine", FiledAt: at}
}

// requestCommit is the commit filed with a subject request: its id is the
// request id.
func requestCommit(id, subject string, n int) store.Commit {
	return commit(subject, id, "", 0, leaf(subject, n))
}

func testObjectionLifecycle[B RightsBackend](t *testing.T, o func(context.Context) (B, error)) {
	b := openWith(t, o)
	ctx := t.Context()
	filed := baseTime.Add(time.Hour) // after the records' imports
	if err := b.ImportRecords(ctx, []records.Record{record("s1", "loans", "r1", 1), record("s2", "loans", "r2", 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FileObjection(ctx, objection("o0", "s1", "r2", filed), requestCommit("o0", "s1", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("objection to another subject's record: %v, want ErrNotFound", err)
	}
	if n := mustLogSize(t, b); n != 0 {
		t.Fatalf("a refused filing left %d leaves", n)
	}
	a, err := b.FileObjection(ctx, objection("o1", "s1", "r1", filed), requestCommit("o1", "s1", 2))
	if err != nil || a.Index != 0 {
		t.Fatalf("file: %+v %v", a, err)
	}
	if _, err := b.FileObjection(ctx, objection("o2", "s1", "r1", filed), requestCommit("o2", "s1", 3)); !errors.Is(err, store.ErrAlreadyOpen) {
		t.Fatalf("second open objection: %v, want ErrAlreadyOpen", err)
	}
	if _, err := b.FileObjection(ctx, objection("o1", "s1", "r1", filed), requestCommit("o1", "s1", 4)); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("reused request id: %v, want ErrReplay", err)
	}
	if n, err := b.CountOpenObjections(ctx, filed.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("open before: %d %v", n, err)
	}
	if n, err := b.CountOpenObjections(ctx, filed); err != nil || n != 0 {
		t.Fatalf("open strictly before filing: %d %v", n, err)
	}
	flags, err := b.RecordFlags(ctx, "s1")
	if err != nil || !flags[store.RecordKey{Category: "loans", ID: "r1"}].Disputed || len(flags) != 1 {
		t.Fatalf("flags: %+v %v", flags, err)
	}
	entry := func(n int) func(store.Objection) (store.Leaf, error) {
		return func(store.Objection) (store.Leaf, error) { return leaf("s1", n), nil }
	}
	at := filed.Add(time.Hour)
	if _, _, err := b.ResolveObjection(ctx, store.Resolution{ID: "o1", Status: schemas.ObjectionCorrected, At: at}, entry(5)); !errors.Is(err, store.ErrNotCorrected) {
		t.Fatalf("corrected without a re-import: %v", err)
	}
	if _, _, err := b.ResolveObjection(ctx, store.Resolution{ID: "nope", Status: schemas.ObjectionUpheld, At: at}, entry(5)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown objection: %v", err)
	}
	got, a, err := b.ResolveObjection(ctx, store.Resolution{ID: "o1", Status: schemas.ObjectionRemoved, Outcome: "gone", At: at}, entry(6))
	if err != nil || got.Status != schemas.ObjectionRemoved || !got.ResolvedAt.Equal(at) || got.Outcome != "gone" || a.Index != 1 {
		t.Fatalf("resolve: %+v %+v %v", got, a, err)
	}
	if _, _, err := b.ResolveObjection(ctx, store.Resolution{ID: "o1", Status: schemas.ObjectionUpheld, At: at}, entry(7)); !errors.Is(err, store.ErrNotOpen) {
		t.Fatalf("resolved twice: %v", err)
	}
	if n := mustLogSize(t, b); n != 2 {
		t.Fatalf("log size %d, want 2", n)
	}
	list, err := b.Objections(ctx, store.RightsFilter{Subject: "s1", Status: schemas.ObjectionRemoved})
	if err != nil || len(list) != 1 || list[0].ID != "o1" || list[0].Reason != "not mine" || !list[0].FiledAt.Equal(filed) {
		t.Fatalf("objections: %+v %v", list, err)
	}
	if list, err := b.Objections(ctx, store.RightsFilter{Status: schemas.ObjectionOpen}); err != nil || len(list) != 0 {
		t.Fatalf("open objections: %+v %v", list, err)
	}
	flags, err = b.RecordFlags(ctx, "s1")
	if f := flags[store.RecordKey{Category: "loans", ID: "r1"}]; err != nil || f.Disputed || !f.Removed {
		t.Fatalf("flags after removal: %+v %v", flags, err)
	}
	// A corrected resolution needs the record re-imported after the filing.
	if _, err := b.FileObjection(ctx, objection("o3", "s2", "r2", filed), requestCommit("o3", "s2", 8)); err != nil {
		t.Fatal(err)
	}
	if err := b.ImportRecords(ctx, []records.Record{record("s2", "loans", "r2", 90)}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := b.ResolveObjection(ctx, store.Resolution{ID: "o3", Status: schemas.ObjectionCorrected, At: at}, entry(9)); err != nil || got.Status != schemas.ObjectionCorrected {
		t.Fatalf("corrected after a re-import: %+v %v", got, err)
	}
}

func testRepairDecision[B RightsBackend](t *testing.T, o func(context.Context) (B, error)) {
	b := openWith(t, o)
	ctx := t.Context()
	if err := b.ImportRecords(ctx, []records.Record{record("s1", "loans", "r1", 1)}); err != nil {
		t.Fatal(err)
	}
	rp := store.Repair{ID: "p1", Subject: "s1", Category: "loans", RecordID: "r1", Reason: "paid", FiledAt: baseTime}
	if _, err := b.FileRepair(ctx, rp, requestCommit("p1", "s1", 1)); err != nil {
		t.Fatal(err)
	}
	rp.ID = "p2"
	if _, err := b.FileRepair(ctx, rp, requestCommit("p2", "s1", 2)); !errors.Is(err, store.ErrAlreadyOpen) {
		t.Fatalf("second pending repair: %v", err)
	}
	entry := func(store.Repair) (store.Leaf, error) { return leaf("s1", 3), nil }
	bad := func(store.Repair) (store.Leaf, error) { return store.Leaf{}, errors.New("no entry") }
	at := baseTime.Add(time.Hour)
	if _, _, err := b.DecideRepair(ctx, store.Resolution{ID: "p1", Status: schemas.RepairApproved, At: at}, bad); err == nil {
		t.Fatal("a failing entry was accepted")
	}
	if list, _ := b.Repairs(ctx, store.RightsFilter{Status: schemas.RepairPending}); len(list) != 1 {
		t.Fatalf("a failed decision changed the repair: %+v", list)
	}
	got, a, err := b.DecideRepair(ctx, store.Resolution{ID: "p1", Status: schemas.RepairApproved, Outcome: "ok", At: at}, entry)
	if err != nil || got.Status != schemas.RepairApproved || !got.DecidedAt.Equal(at) || a.Index != 1 {
		t.Fatalf("decide: %+v %+v %v", got, a, err)
	}
	if _, _, err := b.DecideRepair(ctx, store.Resolution{ID: "p1", Status: schemas.RepairRejected, At: at}, entry); !errors.Is(err, store.ErrNotOpen) {
		t.Fatalf("decided twice: %v", err)
	}
	flags, err := b.RecordFlags(ctx, "s1")
	if f := flags[store.RecordKey{Category: "loans", ID: "r1"}]; err != nil || !f.Repaired || f.Disputed {
		t.Fatalf("flags: %+v %v", flags, err)
	}
	if list, err := b.Repairs(ctx, store.RightsFilter{Subject: "s1"}); err != nil || len(list) != 1 || list[0].Outcome != "ok" {
		t.Fatalf("repairs: %+v %v", list, err)
	}
}

func testFreeReportsConcurrent[B RightsBackend](t *testing.T, o func(context.Context) (B, error)) {
	b := openWith(t, o)
	ctx := t.Context()
	const limit, tries = 3, 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	var used []int
	exhausted := 0
	for range tries {
		wg.Go(func() {
			n, err := b.TakeFreeReport(ctx, "s1", 2026, limit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				used = append(used, n)
			case errors.Is(err, store.ErrFreeReportsExhausted):
				exhausted++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	slices.Sort(used)
	if !slices.Equal(used, []int{1, 2, 3}) || exhausted != tries-limit {
		t.Fatalf("used %v, %d exhausted", used, exhausted)
	}
	if n, err := b.TakeFreeReport(ctx, "s1", 2027, limit); err != nil || n != 1 {
		t.Fatalf("next year: %d %v", n, err)
	}
}

func testPurge[B RightsBackend](t *testing.T, o func(context.Context) (B, error)) {
	b := openWith(t, o)
	ctx := t.Context()
	if err := b.ImportRecords(ctx, []records.Record{record("s1", "loans", "r1", 1), record("s2", "loans", "r2", 2), record("s1", "tax", "t1", 3)}); err != nil {
		t.Fatal(err)
	}
	recs, err := b.RecordsInCategories(ctx, []string{"loans", "unknown"})
	if err != nil || len(recs) != 2 || recs[0].ID != "r1" || recs[1].ID != "r2" {
		t.Fatalf("candidates: %+v %v", recs, err)
	}
	if _, _, err := b.PurgeRecords(ctx, []store.PurgedRecord{{Subject: "s1", Category: "loans", ID: "r1"}}, store.Leaf{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("purge with an invalid leaf: %v", err)
	}
	if recs, _ := b.RecordsInCategories(ctx, []string{"loans"}); len(recs) != 2 {
		t.Fatal("a refused purge deleted records")
	}
	n, a, err := b.PurgeRecords(ctx, []store.PurgedRecord{{Subject: "s1", Category: "loans", ID: "r1"}, {Subject: "s9", Category: "loans", ID: "gone"}}, leaf("", 1))
	if err != nil || n != 1 || a.Index != 0 {
		t.Fatalf("purge: %d %+v %v", n, a, err)
	}
	if recs, _ := b.RecordsInCategories(ctx, []string{"loans", "tax"}); len(recs) != 2 || recs[0].ID != "t1" || recs[1].ID != "r2" {
		t.Fatalf("after the purge: %+v", recs)
	}
}

func mustLogSize[B interface {
	InquiryLogSize(context.Context) (uint64, error)
}](t *testing.T, b B) uint64 {
	t.Helper()
	n, err := b.InquiryLogSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
