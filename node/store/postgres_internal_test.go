package store

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/jackc/pgx/v5"
)

// openPGTest opens a Postgres on a new schema; name, if not empty, becomes
// the connections' application_name so the test can find its own backends.
func openPGTest(t *testing.T, name string) (*Postgres, string) {
	t.Helper()
	u := pgtest.Schema(t)
	if name != "" {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		q := pu.Query()
		q.Set("application_name", name)
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	s, err := OpenPostgres(t.Context(), u)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, u
}

// TestPostgresLogRowsImmutable: the schema refuses to edit, delete, truncate
// or skip log rows, and to move a log head other than by one.
func TestPostgresLogRowsImmutable(t *testing.T) {
	s, _ := openPGTest(t, "")
	ctx := t.Context()
	if _, err := s.AppendInquiry(ctx, testLeaf("s1", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendOutbound(ctx, testLeaf("s1", 2)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE inquiry_log SET subject = 's2'`,
		`UPDATE inquiry_log SET idx = 7`,
		`DELETE FROM inquiry_log`,
		`TRUNCATE inquiry_log`,
		`UPDATE outbound_log SET entry = '\x00'`,
		`DELETE FROM outbound_log`,
		`TRUNCATE outbound_log`,
		`INSERT INTO inquiry_log (idx, subject, time, entry, salt, leaf_hash) SELECT idx, 'x', time, entry, salt, leaf_hash FROM inquiry_log
			ON CONFLICT (idx) DO UPDATE SET subject = excluded.subject`,
		`INSERT INTO outbound_log (idx, subject, time, entry, salt, leaf_hash) SELECT idx + 5, 'x', time, entry, salt, leaf_hash FROM outbound_log`,
		`UPDATE log_heads SET size = size + 5`,
		`UPDATE log_heads SET size = 0`,
		`DELETE FROM log_heads`,
		`TRUNCATE log_heads`,
	} {
		if _, err := s.pool.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want it refused", q, err)
		}
	}
	got, err := s.InquiryLeaves(ctx, 0, 1)
	if err != nil || got[0].Subject != "s1" {
		t.Fatalf("inquiry leaf changed: %+v, %v", got, err)
	}
	if n, err := s.OutboundLogSize(ctx); err != nil || n != 1 {
		t.Fatalf("outbound log size = %d, %v; want 1", n, err)
	}
	if a, err := s.AppendInquiry(ctx, testLeaf("s1", 3)); err != nil || a.Index != 1 {
		t.Fatalf("append after refused edits: %+v, %v; want index 1", a, err)
	}
}

// TestPostgresMigrationsRecorded: every migration is recorded once, a
// concurrent open of the same schema waits rather than applying twice, and a
// schema from a newer binary is refused.
func TestPostgresMigrationsRecorded(t *testing.T) {
	u := pgtest.Schema(t)
	ctx := t.Context()
	ms, err := loadMigrations(migrationFiles, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	sq, err := loadMigrations(migrationFiles, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(sq) {
		t.Errorf("%d postgres migrations, %d sqlite ones: they must mirror each other", len(ms), len(sq))
	}
	for i := range min(len(ms), len(sq)) {
		if ms[i].name != sq[i].name {
			t.Errorf("migration %d: postgres %q, sqlite %q", i+1, ms[i].name, sq[i].name)
		}
	}

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := OpenPostgres(ctx, u)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open %d: %v", i, err)
		}
	}
	s, err := OpenPostgres(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n, max int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != len(ms) {
		t.Fatalf("schema_migrations: %d rows up to %d, want %d", n, max, len(ms))
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, 'future.sql', 0)`, len(ms)+1); err != nil {
		t.Fatal(err)
	}
	if s2, err := OpenPostgres(ctx, u); err == nil || !strings.Contains(err.Error(), "newer") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("opening a newer schema: got %v, want refusal", err)
	}
}

// TestPostgresTwoWritersDense: two stores on one schema (two node processes
// after a misconfiguration, or a rolling restart) appending at once still
// produce one dense log with no index handed out twice.
func TestPostgresTwoWritersDense(t *testing.T) {
	a, u := openPGTest(t, "")
	b, err := OpenPostgres(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const per = 40
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w, s := range []*Postgres{a, b, a, b} {
		wg.Go(func() {
			for i := range per {
				n := w*per + i
				c := Commit{Requester: "bank-a", RequestID: fmt.Sprint(n), Leaf: testLeaf("s1", n)}
				ap, err := s.CommitInquiry(t.Context(), c)
				if err != nil {
					t.Errorf("commit %d: %v", n, err)
					return
				}
				mu.Lock()
				if seen[ap.Index] {
					t.Errorf("index %d handed out twice", ap.Index)
				}
				seen[ap.Index] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if size, err := a.InquiryLogSize(t.Context()); err != nil || size != 4*per {
		t.Fatalf("log size %d, %v; want %d", size, err, 4*per)
	}
	if _, err := b.InquiryLeaves(t.Context(), 0, 4*per); err != nil {
		t.Fatalf("reading back the whole log: %v", err)
	}
}

// TestPostgresRevokeWaitsForCommit: a revocation waits for a commit holding
// the consent's lock, so it can never slip between that commit's revocation
// check and its end.
func TestPostgresRevokeWaitsForCommit(t *testing.T) {
	s, _ := openPGTest(t, "")
	ctx := t.Context()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, pgPlaceholders(consentLockSQL), "c1"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Revoke(ctx, Revocation{ConsentID: "c1", Subject: "s1", RevocationID: "rv", RevokedAt: time.Unix(1, 0)})
	}()
	select {
	case err := <-done:
		t.Fatalf("Revoke returned (%v) while a commit held the consent", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Revoke after the commit: %v", err)
	}
	c := Commit{Requester: "bank-a", RequestID: "r1", ConsentID: "c1", MaxUses: 5, Leaf: testLeaf("s1", 1)}
	if _, err := s.CommitInquiry(ctx, c); !errors.Is(err, ErrConsentRevoked) {
		t.Fatalf("commit after Revoke returned: got %v, want ErrConsentRevoked", err)
	}
}

// TestPostgresBackendsTerminated is attack 25 as far as a test can go: while
// writers commit in a loop, a second connection terminates every backend of
// the store (pg_terminate_backend, what the server does to its clients when
// it restarts or fails over). Restarting the server itself is not possible
// from a test here: it is shared and not ours to stop.
//
// Every failed call must be ErrUnavailable, never another error, and no
// acknowledged commit may be lost or renumbered; afterwards the store works
// again without being reopened.
func TestPostgresBackendsTerminated(t *testing.T) {
	appName := fmt.Sprintf("creditnode-test-%d", time.Now().UnixNano())
	s, _ := openPGTest(t, appName)
	ctx := t.Context()
	killer, err := pgx.Connect(ctx, pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close(ctx)

	type acked struct {
		id  string
		idx uint64
	}
	var (
		mu       sync.Mutex
		ok       []acked
		failures atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		n        atomic.Int64
	)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				i := int(n.Add(1))
				id := fmt.Sprint(i)
				var (
					a   Appended
					err error
				)
				if i%3 == 0 {
					var res []BatchResult
					res, err = s.CommitBatch(ctx, []Commit{{Requester: "bank-a", RequestID: id, Leaf: testLeaf("s1", i)}})
					if err == nil {
						a, err = res[0].Appended, res[0].Err
					}
				} else {
					a, err = s.CommitInquiry(ctx, Commit{Requester: "bank-a", RequestID: id, Leaf: testLeaf("s1", i)})
				}
				if err != nil {
					if !errors.Is(err, ErrUnavailable) {
						t.Errorf("commit %s failed with %v, want ErrUnavailable", id, err)
					}
					failures.Add(1)
					continue
				}
				mu.Lock()
				ok = append(ok, acked{id, a.Index})
				mu.Unlock()
			}
		})
	}
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		var killed int
		if err := killer.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = $1 AND pid <> pg_backend_pid()) k`, appName).Scan(&killed); err != nil {
			t.Fatal(err)
		}
		if killed == 0 {
			t.Error("no backend of the store to terminate")
		}
	}
	time.Sleep(150 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if failures.Load() == 0 {
		t.Fatal("terminating the backends made no call fail: the test did not test anything")
	}
	t.Logf("%d commits acknowledged, %d failed with ErrUnavailable", len(ok), failures.Load())

	// The store recovers by itself: the pool replaces dead connections.
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after the backends were terminated: %v", err)
	}
	after, err := s.CommitInquiry(ctx, Commit{Requester: "bank-a", RequestID: "after", Leaf: testLeaf("s2", 0)})
	if err != nil {
		t.Fatalf("commit after the backends were terminated: %v", err)
	}
	size, err := s.InquiryLogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Index != size-1 {
		t.Fatalf("commit after recovery got index %d, log size %d", after.Index, size)
	}
	leaves, err := s.InquiryLeaves(ctx, 0, size) // dense: every index present
	if err != nil {
		t.Fatalf("log not dense after terminations: %v", err)
	}
	for _, a := range ok {
		seen, err := s.RequestSeen(ctx, "bank-a", a.id)
		if err != nil || !seen {
			t.Fatalf("acknowledged request %s lost (%v)", a.id, err)
		}
		var n int
		fmt.Sscan(a.id, &n)
		if want := testLeaf("s1", n); string(leaves[a.idx].LeafHash) != string(want.LeafHash) {
			t.Fatalf("acknowledged request %s: index %d holds another leaf", a.id, a.idx)
		}
	}
}
