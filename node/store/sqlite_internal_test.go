package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/creditexchange/node/node/records"
)

func openTest(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func testLeaf(subject string, n int) Leaf {
	entry := fmt.Appendf(nil, `{"n":%d}`, n)
	salt := sha256.Sum256(entry)
	h := sha256.Sum256(append(append([]byte{0}, salt[:]...), entry...))
	return Leaf{Subject: subject, Time: time.Unix(1700000000, 0), Entry: entry, Salt: salt[:], LeafHash: h[:]}
}

// TestPragmas checks every connection of both pools carries the durability
// settings, and that readers cannot write.
func TestPragmas(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	for _, pool := range []struct {
		name      string
		db        *sql.DB
		conns     int
		queryOnly string
	}{{"writer", s.w, 1, "0"}, {"reader", s.r, 4, "1"}} {
		want := map[string]string{
			"journal_mode": "wal",
			"synchronous":  "2", // FULL
			"foreign_keys": "1",
			"busy_timeout": strconv.Itoa(busyTimeoutMS),
			"query_only":   pool.queryOnly,
		}
		// Hold the connections at once so each is a distinct one.
		var conns []*sql.Conn
		for range pool.conns {
			c, err := pool.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for p, v := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+p).Scan(&got); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", pool.name, i, p, err)
				}
				if got != v {
					t.Errorf("%s conn %d: %s = %q, want %q", pool.name, i, p, got, v)
				}
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if _, err := s.r.ExecContext(ctx, `INSERT INTO revocations VALUES ('c', 's', 'r', 0)`); err == nil {
		t.Fatal("a reader connection could write")
	}
}

// TestLogRowsImmutable: the schema itself refuses to edit or delete log rows
// (defence in depth; the log package's root recomputation detects edits made
// behind SQLite's back).
func TestLogRowsImmutable(t *testing.T) {
	s, _ := openTest(t)
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
		`UPDATE outbound_log SET entry = x'00'`,
		`DELETE FROM outbound_log`,
		`INSERT OR REPLACE INTO inquiry_log (idx, subject, time, entry, salt, leaf_hash) SELECT idx, 'x', time, entry, salt, leaf_hash FROM inquiry_log`,
		`INSERT INTO outbound_log (idx, subject, time, entry, salt, leaf_hash) SELECT idx + 5, 'x', time, entry, salt, leaf_hash FROM outbound_log`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
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
}

// TestImportRollsBack makes the database fail on the last record of an
// import and checks the earlier ones were rolled back.
func TestImportRollsBack(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	if _, err := s.w.ExecContext(ctx, `CREATE TEMP TRIGGER poison BEFORE INSERT ON records WHEN NEW.id = 'poison'
		BEGIN SELECT RAISE(ABORT, 'poisoned record'); END`); err != nil {
		t.Fatal(err)
	}
	rec := func(id string) records.Record {
		return records.Record{Subject: "s1", Category: "loans", ID: id, Data: []byte(`{}`), UpdatedAt: time.Unix(1, 0)}
	}
	err := s.ImportRecords(ctx, []records.Record{rec("a"), rec("b"), rec("poison")})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("import: got %v, want ErrUnavailable", err)
	}
	if got, err := s.Records(ctx, "s1", []string{"loans"}); err != nil || len(got) != 0 {
		t.Fatalf("failed import left %d records (%v)", len(got), err)
	}
}

func TestCancelledContextUnavailable(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.CommitInquiry(ctx, Commit{Requester: "bank-a", RequestID: "r1", Leaf: testLeaf("s1", 1)})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	if seen, err := s.RequestSeen(t.Context(), "bank-a", "r1"); err != nil || seen {
		t.Fatalf("cancelled commit was written: %v, %v", seen, err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:node.db", "file::memory:?cache=shared", filepath.Join(t.TempDir(), "a?mode=ro")} {
		if s, err := OpenSQLite(t.Context(), p); !errors.Is(err, ErrInvalid) {
			if s != nil {
				s.Close()
			}
			t.Errorf("OpenSQLite(%q): got %v, want ErrInvalid", p, err)
		}
	}
}

func TestOpenUnwritableDirectory(t *testing.T) {
	_, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "missing", "dir", "node.db"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

func TestMigrationsRecorded(t *testing.T) {
	s, path := openTest(t)
	ctx := t.Context()
	ms, err := loadMigrations(migrationFiles, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	count := func(s *SQLite) int {
		var n, max int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		if n != max {
			t.Fatalf("schema_migrations has %d rows up to version %d", n, max)
		}
		return n
	}
	if n := count(s); n != len(ms) {
		t.Fatalf("%d migrations recorded, want %d", n, len(ms))
	}
	s.Close()

	s2, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if n := count(s2); n != len(ms) {
		t.Fatalf("after reopen %d migrations recorded, want %d", n, len(ms))
	}
	// A database migrated by a newer binary is refused, not half-used.
	if _, err := s2.w.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, 'future.sql', 0)`, len(ms)+1); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if s3, err := OpenSQLite(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		if s3 != nil {
			s3.Close()
		}
		t.Fatalf("opening a newer schema: got %v, want refusal", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	good := fstest.MapFS{"m/0001_init.sql": file("A"), "m/0002_more.sql": file("B")}
	ms, err := loadMigrations(good, "m")
	if err != nil || len(ms) != 2 || ms[0].version != 1 || ms[1].sql != "B" {
		t.Fatalf("loadMigrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"m/0001_init.sql": file("A"), "m/0003_gap.sql": file("C")},
		"no first": {"m/0002_more.sql": file("B")},
		"bad name": {"m/0001_init.sql": file("A"), "m/2_x.sql": file("B")},
		"stray":    {"m/0001_init.sql": file("A"), "m/README": file("")},
		"empty":    {"m": &fstest.MapFile{Mode: fs.ModeDir}},
		"missing":  {},
	} {
		if ms, err := loadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: loaded %+v, want an error", name, ms)
		}
	}
}

// crashChildEnv names the database a re-executed test binary commits to until
// it is killed.
const crashChildEnv = "STORE_CRASH_CHILD_DB"

// TestCrashKeepsAcknowledged kills a process committing inquiries with
// SIGKILL (threats.md 22) and checks that after reopening every commit it
// acknowledged is stored, indexes are dense, and the next index is not a
// reused one.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "node.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledged$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]uint64{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		var id string
		var idx uint64
		if _, err := fmt.Sscanf(sc.Text(), "ack %s %d", &id, &idx); err != nil {
			continue // test framework output
		}
		acked[id] = idx
		if len(acked) == 150 && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acks without being killed", len(acked))
	}

	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	size, err := s.InquiryLogSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := s.InquiryLeaves(t.Context(), 0, size)
	if err != nil {
		t.Fatalf("log of size %d is not dense: %v", size, err)
	}
	for id, idx := range acked {
		if idx >= size || string(leaves[idx].Entry) != fmt.Sprintf(`{"id":%q}`, id) {
			t.Fatalf("acknowledged %s at index %d lost (log size %d)", id, idx, size)
		}
		if seen, err := s.RequestSeen(t.Context(), "bank-a", id); err != nil || !seen {
			t.Fatalf("acknowledged request id %s not marked seen: %v", id, err)
		}
	}
	a, err := s.AppendInquiry(t.Context(), testLeaf("s1", 1))
	if err != nil || a.Index != size {
		t.Fatalf("append after crash: %+v, %v; want index %d", a, err, size)
	}
	t.Logf("%d acknowledged before the kill, %d in the log", len(acked), size)
}

// crashChild commits from four goroutines, printing each acknowledged commit,
// until killed (or after 30 s, should the parent die first).
func crashChild(path string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex // one line per write to the pipe
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				l := testLeaf("s1", i)
				l.Entry = fmt.Appendf(nil, `{"id":%q}`, id)
				a, err := s.CommitInquiry(ctx, Commit{Requester: "bank-a", RequestID: id, Leaf: l})
				if err != nil {
					return
				}
				mu.Lock()
				fmt.Printf("ack %s %d\n", id, a.Index)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(2)
}

// TestMigrationUpgrade opens a database created by an older binary (only the
// first migration) and checks the rest are applied on open.
func TestMigrationUpgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	ms, err := loadMigrations(migrationFiles, "migrations/sqlite")
	if err != nil || len(ms) < 2 {
		t.Fatalf("need at least two migrations: %d, %v", len(ms), err)
	}
	old, err := openPool(path, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateSQLite(ctx, old, ms[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `INSERT INTO inquiry_log (idx, subject, time, entry, salt, leaf_hash) VALUES (0, 's1', 0, x'7b7d', zeroblob(32), zeroblob(32))`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("open after upgrade: %v", err)
	}
	defer s.Close()
	var version int
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != len(ms) {
		t.Fatalf("schema version %d (%v), want %d", version, err, len(ms))
	}
	// 0002's trigger is in force: a gap is refused.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO inquiry_log (idx, subject, time, entry, salt, leaf_hash) VALUES (5, 's1', 0, x'7b7d', zeroblob(32), zeroblob(32))`); err == nil {
		t.Fatal("insert leaving a gap was accepted after upgrade")
	}
	if a, err := s.AppendInquiry(ctx, testLeaf("s1", 1)); err != nil || a.Index != 1 {
		t.Fatalf("append after upgrade: %+v, %v; want index 1", a, err)
	}
}

// openAtVersion creates a database at path migrated only up to version, as an
// older binary left it, runs seed on it and closes it.
func openAtVersion(t *testing.T, path string, version int, seed ...string) {
	t.Helper()
	ctx := t.Context()
	ms, err := loadMigrations(migrationFiles, "migrations/sqlite")
	if err != nil || len(ms) <= version {
		t.Fatalf("need more than %d migrations: %d, %v", version, len(ms), err)
	}
	old, err := openPool(path, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := migrateSQLite(ctx, old, ms[:version]); err != nil {
		t.Fatal(err)
	}
	for _, q := range seed {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestMigrationRevocationsBySubject opens a database at schema version 2,
// whose revocations are keyed by consent id alone, and checks 0003 keeps its
// revocations, each for the subject who sent it, and keys new ones by
// (subject, consent id).
func TestMigrationRevocationsBySubject(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	// c2 was "revoked" by s2, which under the old key would have kept its
	// real subject s1 from revoking it.
	openAtVersion(t, path, 2, `INSERT INTO revocations (consent_id, subject, revocation_id, revoked_at) VALUES
		('c1', 's1', 'rv1', 1700000000000000000),
		('c2', 's2', 'rv2', 1700000001000000000)`)

	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("open after upgrade: %v", err)
	}
	defer s.Close()
	ms, _ := loadMigrations(migrationFiles, "migrations/sqlite")
	var version int
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != len(ms) {
		t.Fatalf("schema version %d (%v), want %d", version, err, len(ms))
	}

	// The old rows are kept whole, each for its own subject.
	var rid string
	var at int64
	if err := s.r.QueryRowContext(ctx, `SELECT revocation_id, revoked_at FROM revocations WHERE subject = 's1' AND consent_id = 'c1'`).Scan(&rid, &at); err != nil ||
		rid != "rv1" || at != 1700000000000000000 {
		t.Fatalf("copied row = %q, %d, %v; want rv1, 1700000000000000000", rid, at, err)
	}
	for _, tc := range []struct {
		subject, consentID string
		want               bool
	}{{"s1", "c1", true}, {"s2", "c2", true}, {"s1", "c2", false}, {"s2", "c1", false}} {
		if got, err := s.Revoked(ctx, tc.subject, tc.consentID); err != nil || got != tc.want {
			t.Errorf("Revoked(%s, %s) = %v, %v; want %v", tc.subject, tc.consentID, got, err, tc.want)
		}
	}
	if _, err := s.CommitInquiry(ctx, Commit{Requester: "bank-a", RequestID: "r1", ConsentID: "c1", MaxUses: 1, Leaf: testLeaf("s1", 1)}); !errors.Is(err, ErrConsentRevoked) {
		t.Fatalf("commit on a revocation copied by the migration: got %v, want ErrConsentRevoked", err)
	}

	// The new key: s1 can now revoke the consent s2 revoked first.
	if err := s.Revoke(ctx, Revocation{ConsentID: "c2", Subject: "s1", RevocationID: "rv3", RevokedAt: time.Unix(1700000002, 0)}); err != nil {
		t.Fatalf("Revoke after upgrade: %v", err)
	}
	if got, err := s.Revoked(ctx, "s1", "c2"); err != nil || !got {
		t.Fatalf("Revoked(s1, c2) after s1's revocation = %v, %v; want true", got, err)
	}
	// The CHECKs survive the rebuild.
	for _, q := range []string{
		`INSERT INTO revocations (subject, consent_id, revocation_id, revoked_at) VALUES ('', 'c9', 'rv', 0)`,
		`INSERT INTO revocations (subject, consent_id, revocation_id, revoked_at) VALUES ('s9', '', 'rv', 0)`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "CHECK") {
			t.Errorf("%s: got %v, want a CHECK failure", q, err)
		}
	}
}

// TestMigrationRevocationsEmptySubject: a version-2 revocation with no
// subject cannot be keyed by subject. The migration refuses it, leaving the
// database at version 2 with the row in place, rather than dropping a
// revocation silently.
func TestMigrationRevocationsEmptySubject(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	openAtVersion(t, path, 2, `INSERT INTO revocations (consent_id, subject, revocation_id, revoked_at) VALUES ('c1', '', 'rv1', 0)`)
	if s, err := OpenSQLite(ctx, path); !errors.Is(err, ErrUnavailable) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("open with an unowned revocation: got %v, want the migration refused", err)
	}
	db, err := openPool(path, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version, rows int
	if err := db.QueryRowContext(ctx, `SELECT MAX(version), (SELECT COUNT(*) FROM revocations WHERE consent_id = 'c1') FROM schema_migrations`).Scan(&version, &rows); err != nil {
		t.Fatal(err)
	}
	if version != 2 || rows != 1 {
		t.Fatalf("after the refused migration: version %d, %d revocation rows; want 2, 1", version, rows)
	}
}
