package internalapi

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/schemas"
)

// A job's status outlives the process: a job that was running when the node
// stopped is failed, saying what it left; a finished job is kept for
// JobRetention, then removed; a job stays its client's.
func TestJobsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	js, err := openJobs(dir, slog.New(slog.DiscardHandler), now)
	if err != nil {
		t.Fatal(err)
	}
	running, err := js.start("data-platform", OpImport, "parsing", now)
	if err != nil {
		t.Fatal(err)
	}
	done, err := js.start("data-platform", OpFeeds, "pulling", now)
	if err != nil {
		t.Fatal(err)
	}
	js.finish(done, now, func(j *Job) { j.State, j.Records = JobDone, 7 })
	old, err := js.start("data-platform", OpImport, "parsing", now.Add(-40*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	js.finish(old, now.Add(-40*24*time.Hour), func(j *Job) { j.State = JobDone })

	// The node restarts.
	js, err = openJobs(dir, slog.New(slog.DiscardHandler), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := js.get("data-platform", running.ID)
	if !ok || got.State != JobFailed || got.Code != schemas.CodeInternal || got.Finished == nil || got.Phase != "finished" {
		t.Fatalf("interrupted job after restart: %+v (found %v)", got, ok)
	}
	if want := interruptedConsequence(OpImport); got.Error == "" || !strings.Contains(got.Error, want) {
		t.Fatalf("interrupted job's error %q does not say %q", got.Error, want)
	}
	if got, ok := js.get("data-platform", done.ID); !ok || got.State != JobDone || got.Records != 7 {
		t.Fatalf("finished job after restart: %+v (found %v)", got, ok)
	}
	if _, ok := js.get("loan-system", done.ID); ok {
		t.Fatal("another client sees the job")
	}
	if _, ok := js.get("data-platform", old.ID); ok {
		t.Fatal("a job finished 40 days ago is still kept")
	}
	if _, err := os.Stat(filepath.Join(dir, old.ID+".json")); !os.IsNotExist(err) {
		t.Fatalf("the old job's file: %v", err)
	}
	// A damaged job file stops the start: the operator sees it.
	if err := os.WriteFile(filepath.Join(dir, "x.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openJobs(dir, slog.New(slog.DiscardHandler), now); err == nil {
		t.Fatal("a damaged job file was ignored")
	}
}

// Answers kept for retries expire: Get no longer returns them (a retry runs
// as a new request) and Prune removes their files, which hold decrypted
// answers.
func TestIdempotencyAnswersExpire(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	idem := NewIdempotency(dir, clock)
	if err := idem.Put("loan-system", "k1", stored{Operation: OpQuery, BodyDigest: "d", Status: 200, Body: []byte(`{"records":[]}`)}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(IdempotencyRetention / 2)
	if err := idem.Put("loan-system", "k2", stored{Operation: OpQuery, BodyDigest: "d", Status: 200}); err != nil {
		t.Fatal(err)
	}
	if st, err := idem.Get("loan-system", "k1"); err != nil || st == nil || st.Status != 200 {
		t.Fatalf("a fresh answer: %+v, %v", st, err)
	}
	now = now.Add(IdempotencyRetention/2 + time.Minute) // k1 is past its retention, k2 is not
	if st, err := idem.Get("loan-system", "k1"); err != nil || st != nil {
		t.Fatalf("an expired answer is still returned: %+v, %v", st, err)
	}
	n, err := idem.Prune()
	if err != nil || n != 1 {
		t.Fatalf("prune removed %d, %v; want 1", n, err)
	}
	p1, _ := idem.file("loan-system", "k1")
	if _, err := os.Stat(p1); !os.IsNotExist(err) {
		t.Fatalf("expired answer's file: %v", err)
	}
	if st, err := idem.Get("loan-system", "k2"); err != nil || st == nil {
		t.Fatalf("a live answer was pruned: %+v, %v", st, err)
	}
}
