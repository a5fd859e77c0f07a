// Package storetest is the behaviour every store backend must share, as a
// reusable test suite: the SQLite backend runs it against real database
// files, the PostgreSQL backend against a real server.
//
//	func TestSuite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Opener {
//			path := filepath.Join(t.TempDir(), "node.db")
//			return func(ctx context.Context) (storetest.Backend, error) {
//				return store.OpenSQLite(ctx, path)
//			}
//		})
//	}
//
// Times are compared at microsecond precision, PostgreSQL's.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
)

// Backend is the store as the node uses it.
type Backend interface {
	Close() error
	Ping(ctx context.Context) error

	ImportRecords(ctx context.Context, recs []records.Record) error
	Records(ctx context.Context, subject string, categories []string) ([]records.Record, error)

	RequestSeen(ctx context.Context, requester, requestID string) (bool, error)
	ConsentUses(ctx context.Context, subject, consentID string) (int, error)
	ConsentUsedElsewhere(ctx context.Context, subject, consentID string) (bool, error)
	Revoke(ctx context.Context, r store.Revocation) error
	Revoked(ctx context.Context, subject, consentID string) (bool, error)

	CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error)
	CommitBatch(ctx context.Context, cs []store.Commit) ([]store.BatchResult, error)
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
	InquiryLeaves(ctx context.Context, from, to uint64) ([]store.StoredLeaf, error)
	SubjectInquiries(ctx context.Context, subject string) ([]store.StoredLeaf, error)
	SubjectInquiryPage(ctx context.Context, subject string, from uint64, limit int) ([]store.StoredLeaf, error)
	SubjectInquiryIndexes(ctx context.Context, subject string) ([]uint64, error)
	InquiryLogSize(ctx context.Context) (uint64, error)

	AppendOutbound(ctx context.Context, l store.Leaf) (store.Appended, error)
	OutboundLeaves(ctx context.Context, from, to uint64) ([]store.StoredLeaf, error)
	OutboundLogSize(ctx context.Context) (uint64, error)
	SearchOutbound(ctx context.Context, f store.OutboundSearch) ([]store.StoredLeaf, error)
}

// Opener opens one database. Called again after the Backend it returned is
// closed, it must reopen the same database, with everything written before.
type Opener func(ctx context.Context) (Backend, error)

// Run runs the suite. newDB is called once per test and returns an Opener
// for a new, empty database.
func Run(t *testing.T, newDB func(t *testing.T) Opener) {
	runSuite(t, newDB, []suiteCase[Opener]{
		{"ImportAllOrNothing", testImportAllOrNothing},
		{"ImportUpsert", testImportUpsert},
		{"RecordsOrderAndFilter", testRecordsOrderAndFilter},
		{"CommitRoundTrip", testCommitRoundTrip},
		{"ReplayConcurrent", testReplayConcurrent},
		{"ConsentUsesConcurrent", testConsentUsesConcurrent},
		{"ConsentUsesPerSubject", testConsentUsesPerSubject},
		{"ConsentUsedElsewhere", testConsentUsedElsewhere},
		{"ReplayWritesNothing", testReplayWritesNothing},
		{"ExhaustedWritesNothing", testExhaustedWritesNothing},
		{"RevokedConsentWritesNothing", testRevokedWritesNothing},
		{"InvalidWritesNothing", testInvalidWritesNothing},
		{"IndexDensity", testIndexDensity},
		{"LeafRanges", testLeafRanges},
		{"OutboundSearch", testOutboundSearch},
		{"SubjectIsolation", testSubjectIsolation},
		{"RevocationIdempotent", testRevocationIdempotent},
		{"RevocationBySubject", testRevocationBySubject},
		{"Batch", testBatch},
		{"Durability", testDurability},
		{"ClosedUnavailable", testClosedUnavailable},
	})
}

// suiteCase is one named test of a suite whose tests take an opener of type O.
type suiteCase[O any] struct {
	name string
	fn   func(t *testing.T, open O)
}

// runSuite runs each case as a subtest with a fresh database from newDB.
func runSuite[O any](t *testing.T, newDB func(t *testing.T) O, cases []suiteCase[O]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDB(t)) })
	}
}

// openWith opens a database with o and closes it at the end of the test.
func openWith[B interface{ Close() error }](t *testing.T, o func(context.Context) (B, error)) B {
	t.Helper()
	b, err := o(t.Context())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// open opens the database and closes it at the end of the test.
func open(t *testing.T, o Opener) Backend { t.Helper(); return openWith(t, o) }

// baseTime is a fixed time at microsecond precision.
var baseTime = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// leaf makes a well-formed leaf about subject; n makes it unique.
func leaf(subject string, n int) store.Leaf {
	entry := fmt.Appendf(nil, `{"n":%d,"subject":%q}`, n, subject)
	salt := sha256.Sum256(fmt.Appendf(nil, "salt %d %s", n, subject))
	h := sha256.New()
	h.Write([]byte{0}) // RFC 6962 leaf prefix
	h.Write(salt[:])
	h.Write(entry)
	return store.Leaf{
		Subject:  subject,
		Time:     baseTime.Add(time.Duration(n) * time.Second),
		Entry:    entry,
		Salt:     salt[:],
		LeafHash: h.Sum(nil),
	}
}

func commit(requester, requestID, consentID string, maxUses int, l store.Leaf) store.Commit {
	return store.Commit{Requester: requester, RequestID: requestID, ConsentID: consentID, MaxUses: maxUses, Leaf: l}
}

func record(subject, category, id string, v int) records.Record {
	return records.Record{
		Subject:   subject,
		Category:  category,
		ID:        id,
		Data:      json.RawMessage(fmt.Sprintf(`{"v":%d}`, v)),
		UpdatedAt: baseTime.Add(time.Duration(v) * time.Minute),
	}
}

func sameRecord(a, b records.Record) bool {
	return a.Subject == b.Subject && a.Category == b.Category && a.ID == b.ID &&
		string(a.Data) == string(b.Data) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func sameLeaf(a, b store.Leaf) bool {
	return a.Subject == b.Subject && a.Time.Equal(b.Time) && string(a.Entry) == string(b.Entry) &&
		string(a.Salt) == string(b.Salt) && string(a.LeafHash) == string(b.LeafHash)
}

func mustSize(t *testing.T, b Backend) uint64 {
	t.Helper()
	n, err := b.InquiryLogSize(t.Context())
	if err != nil {
		t.Fatalf("InquiryLogSize: %v", err)
	}
	return n
}

func mustUses(t *testing.T, b Backend, subject, consentID string) int {
	t.Helper()
	n, err := b.ConsentUses(t.Context(), subject, consentID)
	if err != nil {
		t.Fatalf("ConsentUses(%q): %v", consentID, err)
	}
	return n
}

func mustSeen(t *testing.T, b Backend, requester, requestID string) bool {
	t.Helper()
	seen, err := b.RequestSeen(t.Context(), requester, requestID)
	if err != nil {
		t.Fatalf("RequestSeen: %v", err)
	}
	return seen
}

func mustRecords(t *testing.T, b Backend, subject string, cats ...string) []records.Record {
	t.Helper()
	got, err := b.Records(t.Context(), subject, cats)
	if err != nil {
		t.Fatalf("Records(%q, %q): %v", subject, cats, err)
	}
	return got
}

func testImportAllOrNothing(t *testing.T, o Opener) {
	b := open(t, o)
	ok := []records.Record{record("s1", "loans", "a", 1), record("s1", "loans", "b", 2)}
	bad := append(slices.Clone(ok), record("s1", "loans", "", 3))
	if err := b.ImportRecords(t.Context(), bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("import with an empty id: got %v, want ErrInvalid", err)
	}
	if got := mustRecords(t, b, "s1", "loans"); len(got) != 0 {
		t.Fatalf("failed import stored %d records", len(got))
	}
	if err := b.ImportRecords(t.Context(), ok); err != nil {
		t.Fatalf("import: %v", err)
	}
	if got := mustRecords(t, b, "s1", "loans"); len(got) != 2 {
		t.Fatalf("got %d records, want 2", len(got))
	}
	if err := b.ImportRecords(t.Context(), nil); err != nil {
		t.Fatalf("empty import: %v", err)
	}
}

func testImportUpsert(t *testing.T, o Opener) {
	b := open(t, o)
	if err := b.ImportRecords(t.Context(), []records.Record{record("s1", "loans", "a", 1), record("s1", "loans", "b", 2)}); err != nil {
		t.Fatal(err)
	}
	updated := record("s1", "loans", "a", 9)
	if err := b.ImportRecords(t.Context(), []records.Record{updated}); err != nil {
		t.Fatal(err)
	}
	got := mustRecords(t, b, "s1", "loans")
	if len(got) != 2 || !sameRecord(got[0], updated) || !sameRecord(got[1], record("s1", "loans", "b", 2)) {
		t.Fatalf("after upsert got %+v", got)
	}
	// The same key twice in one import: the later one wins.
	if err := b.ImportRecords(t.Context(), []records.Record{record("s1", "loans", "b", 5), record("s1", "loans", "b", 6)}); err != nil {
		t.Fatal(err)
	}
	got = mustRecords(t, b, "s1", "loans")
	if len(got) != 2 || !sameRecord(got[1], record("s1", "loans", "b", 6)) {
		t.Fatalf("after repeated key got %+v", got)
	}
}

func testRecordsOrderAndFilter(t *testing.T, o Opener) {
	b := open(t, o)
	all := []records.Record{
		record("s1", "payments", "z", 1),
		record("s1", "loans", "b", 2),
		record("s1", "court", "a", 3),
		record("s1", "loans", "a", 4),
		record("s2", "loans", "a", 5), // same category and id, other subject
		record("s1", "payments", "c", 6),
	}
	if err := b.ImportRecords(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	got := mustRecords(t, b, "s1", "payments", "loans", "loans", "unknown")
	want := []records.Record{all[3], all[1], all[5], all[0]}
	if !slices.EqualFunc(got, want, sameRecord) {
		t.Fatalf("Records(s1, payments+loans):\n got %+v\nwant %+v", got, want)
	}
	if got := mustRecords(t, b, "s2", "loans"); len(got) != 1 || !sameRecord(got[0], all[4]) {
		t.Fatalf("Records(s2, loans) = %+v", got)
	}
	if got := mustRecords(t, b, "s1"); len(got) != 0 {
		t.Fatalf("Records with no categories returned %d records, want none", len(got))
	}
	if got := mustRecords(t, b, "s3", "loans"); len(got) != 0 {
		t.Fatalf("Records for an unknown subject returned %d records", len(got))
	}
}

func testCommitRoundTrip(t *testing.T, o Opener) {
	b := open(t, o)
	l := leaf("s1", 1)
	a, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "c1", 3, l))
	if err != nil {
		t.Fatalf("CommitInquiry: %v", err)
	}
	if a.Index != 0 || string(a.LeafHash) != string(l.LeafHash) {
		t.Fatalf("Appended = %+v, want index 0 and the leaf hash", a)
	}
	if !mustSeen(t, b, "bank-a", "r1") {
		t.Fatal("request id not marked seen")
	}
	if mustSeen(t, b, "bank-b", "r1") {
		t.Fatal("request id seen for another requester")
	}
	if n := mustUses(t, b, "s1", "c1"); n != 1 {
		t.Fatalf("consent uses = %d, want 1", n)
	}
	if n := mustUses(t, b, "s1", "never-used"); n != 0 {
		t.Fatalf("unused consent uses = %d, want 0", n)
	}
	got, err := b.InquiryLeaves(t.Context(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Index != 0 || !sameLeaf(got[0].Leaf, l) {
		t.Fatalf("InquiryLeaves = %+v, want %+v", got, l)
	}
	// The same request id from another requester is a different request.
	if _, err := b.CommitInquiry(t.Context(), commit("bank-b", "r1", "", 0, leaf("s1", 2))); err != nil {
		t.Fatalf("same request id, other requester: %v", err)
	}
}

func testReplayConcurrent(t *testing.T, o Opener) {
	b := open(t, o)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = b.CommitInquiry(t.Context(), commit("bank-a", "same-id", "c1", n, leaf("s1", i)))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrReplay):
		default:
			t.Errorf("commit %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent duplicates succeeded, want exactly 1", wins, n)
	}
	if size := mustSize(t, b); size != 1 {
		t.Fatalf("log size = %d, want 1", size)
	}
	if uses := mustUses(t, b, "s1", "c1"); uses != 1 {
		t.Fatalf("consent uses = %d, want 1", uses)
	}
}

func testConsentUsesConcurrent(t *testing.T, o Opener) {
	b := open(t, o)
	const n, maxUses = 30, 7
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = b.CommitInquiry(t.Context(), commit("bank-a", fmt.Sprintf("r%d", i), "c1", maxUses, leaf("s1", i)))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrConsentExhausted):
			if mustSeen(t, b, "bank-a", fmt.Sprintf("r%d", i)) {
				t.Errorf("exhausted commit %d marked its request id seen", i)
			}
		default:
			t.Errorf("commit %d: %v", i, err)
		}
	}
	if wins != maxUses {
		t.Fatalf("%d commits succeeded, want %d", wins, maxUses)
	}
	if uses := mustUses(t, b, "s1", "c1"); uses != maxUses {
		t.Fatalf("consent uses = %d, want %d", uses, maxUses)
	}
	if size := mustSize(t, b); size != maxUses {
		t.Fatalf("log size = %d, want %d", size, maxUses)
	}
}

// testConsentUsesPerSubject: consent ids are chosen by subjects, so two
// subjects' consents may share one. Each has its own counter: one subject's
// queries never spend the other's uses, and each is exhausted on its own.
func testConsentUsesPerSubject(t *testing.T, o Opener) {
	b := open(t, o)
	const maxUses = 2
	for i, s := range []string{"s1", "s1", "s2"} {
		if _, err := b.CommitInquiry(t.Context(), commit("bank-a", fmt.Sprintf("r%d", i), "shared-id", maxUses, leaf(s, i))); err != nil {
			t.Fatalf("commit %d (%s): %v", i, s, err)
		}
	}
	if n := mustUses(t, b, "s1", "shared-id"); n != 2 {
		t.Fatalf("s1 uses = %d, want 2", n)
	}
	if n := mustUses(t, b, "s2", "shared-id"); n != 1 {
		t.Fatalf("s2 uses = %d, want 1 (s1's uses counted against s2?)", n)
	}
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r3", "shared-id", maxUses, leaf("s1", 3))); !errors.Is(err, store.ErrConsentExhausted) {
		t.Fatalf("s1's third use: %v, want ErrConsentExhausted", err)
	}
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r4", "shared-id", maxUses, leaf("s2", 4))); err != nil {
		t.Fatalf("s2's second use: %v", err)
	}
	if n := mustUses(t, b, "s3", "shared-id"); n != 0 {
		t.Fatalf("s3 uses = %d, want 0", n)
	}
}

// testConsentUsedElsewhere: a consent id used by s1 is used elsewhere for
// s2 and s3, not for s1 itself; an id nobody used is used nowhere.
func testConsentUsedElsewhere(t *testing.T, o Opener) {
	b := open(t, o)
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "c1", 5, leaf("s1", 1))); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		subject, consent string
		want             bool
	}{{"s1", "c1", false}, {"s2", "c1", true}, {"s3", "c1", true}, {"s2", "c2", false}} {
		got, err := b.ConsentUsedElsewhere(t.Context(), tt.subject, tt.consent)
		if err != nil || got != tt.want {
			t.Errorf("ConsentUsedElsewhere(%s, %s) = %v, %v; want %v", tt.subject, tt.consent, got, err, tt.want)
		}
	}
}

func testReplayWritesNothing(t *testing.T, o Opener) {
	b := open(t, o)
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "c1", 5, leaf("s1", 1))); err != nil {
		t.Fatal(err)
	}
	_, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "c2", 5, leaf("s2", 2)))
	if !errors.Is(err, store.ErrReplay) {
		t.Fatalf("replay: got %v, want ErrReplay", err)
	}
	if n := mustUses(t, b, "s2", "c2"); n != 0 {
		t.Fatalf("replay consumed a use of its consent: %d", n)
	}
	if n := mustUses(t, b, "s1", "c1"); n != 1 {
		t.Fatalf("consent c1 uses = %d, want 1", n)
	}
	if size := mustSize(t, b); size != 1 {
		t.Fatalf("replay appended a leaf: size %d", size)
	}
	if got, err := b.SubjectInquiries(t.Context(), "s2"); err != nil || len(got) != 0 {
		t.Fatalf("replay's subject has leaves %+v, %v", got, err)
	}
}

func testExhaustedWritesNothing(t *testing.T, o Opener) {
	b := open(t, o)
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "c1", 1, leaf("s1", 1))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Commit{
		commit("bank-a", "r2", "c1", 1, leaf("s1", 2)),
		commit("bank-a", "r3", "c2", 0, leaf("s1", 3)), // a consent allowing no use
	} {
		if _, err := b.CommitInquiry(t.Context(), c); !errors.Is(err, store.ErrConsentExhausted) {
			t.Fatalf("commit %s: got %v, want ErrConsentExhausted", c.RequestID, err)
		}
		if mustSeen(t, b, c.Requester, c.RequestID) {
			t.Fatalf("refused commit %s marked its request id seen", c.RequestID)
		}
	}
	if n := mustUses(t, b, "s1", "c1"); n != 1 {
		t.Fatalf("uses = %d, want 1", n)
	}
	if n := mustUses(t, b, "s1", "c2"); n != 0 {
		t.Fatalf("uses of c2 = %d, want 0", n)
	}
	if size := mustSize(t, b); size != 1 {
		t.Fatalf("size = %d, want 1", size)
	}
	// The refused request id is free: the same request with a fresh consent goes through.
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r2", "c3", 1, leaf("s1", 2))); err != nil {
		t.Fatalf("request after refusal: %v", err)
	}
}

func testRevokedWritesNothing(t *testing.T, o Opener) {
	b := open(t, o)
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "c1", 5, leaf("s1", 1))); err != nil {
		t.Fatal(err)
	}
	if err := b.Revoke(t.Context(), store.Revocation{ConsentID: "c1", Subject: "s1", RevocationID: "rv1", RevokedAt: baseTime}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r2", "c1", 5, leaf("s1", 2))); !errors.Is(err, store.ErrConsentRevoked) {
		t.Fatalf("commit on a revoked consent: got %v, want ErrConsentRevoked", err)
	}
	if mustSeen(t, b, "bank-a", "r2") || mustUses(t, b, "s1", "c1") != 1 || mustSize(t, b) != 1 {
		t.Fatal("refused commit on a revoked consent wrote something")
	}
}

func testInvalidWritesNothing(t *testing.T, o Opener) {
	b := open(t, o)
	shortSalt := leaf("s1", 1)
	shortSalt.Salt = shortSalt.Salt[:16]
	longHash := leaf("s1", 2)
	longHash.LeafHash = append(longHash.LeafHash, 0)
	noEntry := leaf("s1", 3)
	noEntry.Entry = nil
	for name, l := range map[string]store.Leaf{"short salt": shortSalt, "long hash": longHash, "no entry": noEntry} {
		if _, err := b.AppendInquiry(t.Context(), l); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AppendInquiry(%s): got %v, want ErrInvalid", name, err)
		}
		if _, err := b.AppendOutbound(t.Context(), l); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AppendOutbound(%s): got %v, want ErrInvalid", name, err)
		}
		if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r-"+name, "c1", 5, l)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CommitInquiry(%s): got %v, want ErrInvalid", name, err)
		}
	}
	if _, err := b.CommitInquiry(t.Context(), commit("", "r1", "", 0, leaf("s1", 4))); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("commit without requester: got %v, want ErrInvalid", err)
	}
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "", "", 0, leaf("s1", 5))); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("commit without request id: got %v, want ErrInvalid", err)
	}
	// A consent with no subject to look its revocation up under.
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r2", "c1", 5, leaf("", 6))); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("commit with a consent and no subject: got %v, want ErrInvalid", err)
	}
	if mustSize(t, b) != 0 || mustUses(t, b, "s1", "c1") != 0 {
		t.Fatal("invalid input wrote to the inquiry log or consumed a consent")
	}
	if n, err := b.OutboundLogSize(t.Context()); err != nil || n != 0 {
		t.Fatalf("outbound size = %d, %v; want 0", n, err)
	}
}

func testIndexDensity(t *testing.T, o Opener) {
	b := open(t, o)
	ctx := t.Context()
	var want []store.Leaf
	check := func(a store.Appended, err error, l store.Leaf) {
		t.Helper()
		if err != nil {
			t.Fatalf("leaf %d: %v", len(want), err)
		}
		if a.Index != uint64(len(want)) {
			t.Fatalf("got index %d, want %d", a.Index, len(want))
		}
		want = append(want, l)
	}
	for i := range 12 {
		l := leaf("s1", i)
		switch i % 3 {
		case 0:
			a, err := b.AppendInquiry(ctx, l)
			check(a, err, l)
		case 1:
			a, err := b.CommitInquiry(ctx, commit("bank-a", fmt.Sprintf("r%d", i), "", 0, l))
			check(a, err, l)
		case 2:
			// c1 allows two uses; later commits are refused, take no
			// index, and are logged as denials instead.
			a, err := b.CommitInquiry(ctx, commit("bank-a", fmt.Sprintf("r%d", i), "c1", 2, l))
			if errors.Is(err, store.ErrConsentExhausted) {
				a, err = b.AppendInquiry(ctx, l)
			}
			check(a, err, l)
		}
		// A replay between appends takes no index either.
		if i >= 1 {
			if _, err := b.CommitInquiry(ctx, commit("bank-a", "r1", "", 0, leaf("s9", 99))); !errors.Is(err, store.ErrReplay) {
				t.Fatalf("replay after leaf %d: got %v, want ErrReplay", i, err)
			}
		}
	}
	got, err := b.InquiryLeaves(ctx, 0, uint64(len(want)))
	if err != nil {
		t.Fatal(err)
	}
	for j, sl := range got {
		if sl.Index != uint64(j) || !sameLeaf(sl.Leaf, want[j]) {
			t.Fatalf("leaf %d = %+v, want %+v", j, sl, want[j])
		}
	}
	if size := mustSize(t, b); size != uint64(len(want)) {
		t.Fatalf("size = %d, want %d", size, len(want))
	}
}

func testLeafRanges(t *testing.T, o Opener) {
	b := open(t, o)
	for i := range 5 {
		if _, err := b.AppendOutbound(t.Context(), leaf("s1", i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.OutboundLeaves(t.Context(), 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("OutboundLeaves(1, 4) returned %d leaves", len(got))
	}
	for j, sl := range got {
		if sl.Index != uint64(j+1) || !sameLeaf(sl.Leaf, leaf("s1", j+1)) {
			t.Fatalf("leaf %d = %+v", j+1, sl)
		}
	}
	if got, err := b.OutboundLeaves(t.Context(), 5, 5); err != nil || len(got) != 0 {
		t.Fatalf("empty range: %v, %v", got, err)
	}
	if _, err := b.OutboundLeaves(t.Context(), 3, 6); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("range past the end: got %v, want ErrNotFound", err)
	}
	if _, err := b.OutboundLeaves(t.Context(), 4, 3); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("inverted range: got %v, want ErrInvalid", err)
	}
	if _, err := b.InquiryLeaves(t.Context(), 0, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("inquiry log shares the outbound log's leaves: got %v, want ErrNotFound", err)
	}
	if n, err := b.OutboundLogSize(t.Context()); err != nil || n != 5 {
		t.Fatalf("OutboundLogSize = %d, %v; want 5", n, err)
	}
	if n := mustSize(t, b); n != 0 {
		t.Fatalf("InquiryLogSize = %d, want 0", n)
	}
}

func testSubjectIsolation(t *testing.T, o Opener) {
	b := open(t, o)
	subjects := []string{"s1", "s2", "", "s1", "s10", "s2", "s1"}
	for i, s := range subjects {
		if _, err := b.AppendInquiry(t.Context(), leaf(s, i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.SubjectInquiries(t.Context(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	var idx []uint64
	for _, sl := range got {
		if sl.Subject != "s1" || !sameLeaf(sl.Leaf, leaf("s1", int(sl.Index))) {
			t.Fatalf("SubjectInquiries(s1) returned %+v", sl)
		}
		idx = append(idx, sl.Index)
	}
	if !slices.Equal(idx, []uint64{0, 3, 6}) {
		t.Fatalf("SubjectInquiries(s1) indexes = %v, want [0 3 6]", idx)
	}
	if got, err := b.SubjectInquiries(t.Context(), "s3"); err != nil || len(got) != 0 {
		t.Fatalf("unknown subject: %v, %v", got, err)
	}
	if _, err := b.SubjectInquiries(t.Context(), ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty subject: got %v, want ErrInvalid", err)
	}
	if ix, err := b.SubjectInquiryIndexes(t.Context(), "s1"); err != nil || !slices.Equal(ix, []uint64{0, 3, 6}) {
		t.Fatalf("SubjectInquiryIndexes(s1) = %v, %v; want [0 3 6]", ix, err)
	}
	if ix, err := b.SubjectInquiryIndexes(t.Context(), "s3"); err != nil || len(ix) != 0 {
		t.Fatalf("SubjectInquiryIndexes(s3) = %v, %v", ix, err)
	}
	// Pages: from an index (whether or not it is the subject's), at most limit.
	for _, tc := range []struct {
		from  uint64
		limit int
		want  []uint64
	}{{0, 2, []uint64{0, 3}}, {1, 2, []uint64{3, 6}}, {3, 1, []uint64{3}}, {4, 10, []uint64{6}}, {7, 10, nil}} {
		page, err := b.SubjectInquiryPage(t.Context(), "s1", tc.from, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, sl := range page {
			if sl.Subject != "s1" || !sameLeaf(sl.Leaf, leaf("s1", int(sl.Index))) {
				t.Fatalf("SubjectInquiryPage(s1) returned %+v", sl)
			}
			got = append(got, sl.Index)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("SubjectInquiryPage(s1, %d, %d) = %v, want %v", tc.from, tc.limit, got, tc.want)
		}
	}
	for _, bad := range []struct {
		subject string
		limit   int
	}{{"", 1}, {"s1", 0}, {"s1", -1}} {
		if _, err := b.SubjectInquiryPage(t.Context(), bad.subject, 0, bad.limit); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("SubjectInquiryPage(%q, limit %d): got %v, want ErrInvalid", bad.subject, bad.limit, err)
		}
	}
	// Outbound entries are not the subject's inquiry log.
	if _, err := b.AppendOutbound(t.Context(), leaf("s1", 100)); err != nil {
		t.Fatal(err)
	}
	if got, err := b.SubjectInquiries(t.Context(), "s1"); err != nil || len(got) != 3 {
		t.Fatalf("after an outbound append SubjectInquiries(s1) has %d leaves, %v", len(got), err)
	}
}

func testRevocationIdempotent(t *testing.T, o Opener) {
	b := open(t, o)
	r := store.Revocation{ConsentID: "c1", Subject: "s1", RevocationID: "rv1", RevokedAt: baseTime}
	for i := range 2 {
		if err := b.Revoke(t.Context(), r); err != nil {
			t.Fatalf("Revoke #%d: %v", i+1, err)
		}
	}
	r.RevocationID = "rv2"
	if err := b.Revoke(t.Context(), r); err != nil {
		t.Fatalf("Revoke with a second revocation id: %v", err)
	}
	for _, tc := range []struct {
		subject, consentID string
		want               bool
	}{{"s1", "c1", true}, {"s1", "c2", false}, {"s2", "c1", false}} {
		got, err := b.Revoked(t.Context(), tc.subject, tc.consentID)
		if err != nil || got != tc.want {
			t.Fatalf("Revoked(%s, %s) = %v, %v; want %v", tc.subject, tc.consentID, got, err, tc.want)
		}
	}
	if err := b.Revoke(t.Context(), store.Revocation{Subject: "s1", RevocationID: "rv3", RevokedAt: baseTime}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Revoke without consent id: got %v, want ErrInvalid", err)
	}
	if err := b.Revoke(t.Context(), store.Revocation{ConsentID: "c3", RevocationID: "rv4", RevokedAt: baseTime}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Revoke without subject: got %v, want ErrInvalid", err)
	}
}

// testRevocationBySubject: a revocation counts only for the subject who sent
// it. Another subject who learns a consent id can neither revoke the consent
// nor, by revoking first, keep its real subject from revoking it.
func testRevocationBySubject(t *testing.T, o Opener) {
	b := open(t, o)
	ctx := t.Context()
	revoked := func(subject, consentID string) bool {
		t.Helper()
		got, err := b.Revoked(ctx, subject, consentID)
		if err != nil {
			t.Fatalf("Revoked(%s, %s): %v", subject, consentID, err)
		}
		return got
	}
	// s2 "revokes" s1's consent c1.
	if err := b.Revoke(ctx, store.Revocation{ConsentID: "c1", Subject: "s2", RevocationID: "rv-s2", RevokedAt: baseTime}); err != nil {
		t.Fatalf("Revoke by another subject: %v", err)
	}
	if revoked("s1", "c1") {
		t.Fatal("another subject's revocation revoked s1's consent")
	}
	if !revoked("s2", "c1") {
		t.Fatal("s2's revocation was not recorded for s2")
	}
	if _, err := b.CommitInquiry(ctx, commit("bank-a", "r1", "c1", 5, leaf("s1", 1))); err != nil {
		t.Fatalf("commit on s1's consent after another subject's revocation: %v", err)
	}
	if _, err := b.CommitInquiry(ctx, commit("bank-a", "r2", "c1", 5, leaf("s2", 2))); !errors.Is(err, store.ErrConsentRevoked) {
		t.Fatalf("commit on the consent id s2 revoked, for s2: got %v, want ErrConsentRevoked", err)
	}

	// s1's own revocation is recorded despite s2's earlier one, and refuses
	// s1's commits, alone and in a batch.
	if err := b.Revoke(ctx, store.Revocation{ConsentID: "c1", Subject: "s1", RevocationID: "rv-s1", RevokedAt: baseTime.Add(time.Second)}); err != nil {
		t.Fatalf("Revoke by the real subject: %v", err)
	}
	if !revoked("s1", "c1") {
		t.Fatal("another subject's earlier revocation kept s1's own from being recorded")
	}
	if _, err := b.CommitInquiry(ctx, commit("bank-a", "r3", "c1", 5, leaf("s1", 3))); !errors.Is(err, store.ErrConsentRevoked) {
		t.Fatalf("commit on s1's revoked consent: got %v, want ErrConsentRevoked", err)
	}
	res, err := b.CommitBatch(ctx, []store.Commit{
		commit("bank-a", "b1", "c1", 5, leaf("s1", 4)),
		commit("bank-a", "b2", "c2", 5, leaf("s1", 5)), // another consent of s1: fine
	})
	if err != nil {
		t.Fatalf("CommitBatch: %v", err)
	}
	if !errors.Is(res[0].Err, store.ErrConsentRevoked) || res[1].Err != nil {
		t.Fatalf("batch results %v, %v; want ErrConsentRevoked, nil", res[0].Err, res[1].Err)
	}
	if mustUses(t, b, "s1", "c1") != 1 || mustSize(t, b) != 2 {
		t.Fatal("refused commits on a revoked consent wrote something")
	}
	// A third subject's view of c1 is untouched by both.
	if revoked("s3", "c1") {
		t.Fatal("revocations by s1 and s2 count for s3")
	}
}

func testBatch(t *testing.T, o Opener) {
	b := open(t, o)
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "old", "", 0, leaf("s1", 0))); err != nil {
		t.Fatal(err)
	}
	bad := leaf("s1", 6)
	bad.Salt = nil
	batch := []store.Commit{
		commit("bank-a", "b1", "c1", 1, leaf("s1", 1)),
		commit("bank-a", "old", "", 0, leaf("s1", 2)),  // replay of a committed request
		commit("bank-a", "b2", "c2", 2, leaf("s2", 3)), // fine
		commit("bank-a", "b1", "c3", 1, leaf("s1", 4)), // replay within the batch
		commit("bank-a", "b3", "c1", 1, leaf("s1", 5)), // c1 used up by b1
		commit("bank-a", "b4", "", 0, bad),             // malformed
		commit("bank-a", "b5", "c2", 2, leaf("s2", 7)), // fine: c2's second use
	}
	res, err := b.CommitBatch(t.Context(), batch)
	if err != nil {
		t.Fatalf("CommitBatch: %v", err)
	}
	wantErr := []error{nil, store.ErrReplay, nil, store.ErrReplay, store.ErrConsentExhausted, store.ErrInvalid, nil}
	wantIdx := []uint64{1, 0, 2, 0, 0, 0, 3}
	if len(res) != len(batch) {
		t.Fatalf("got %d results for %d commits", len(res), len(batch))
	}
	for i, r := range res {
		if !errors.Is(r.Err, wantErr[i]) || (wantErr[i] == nil) != (r.Err == nil) {
			t.Errorf("commit %d: got %v, want %v", i, r.Err, wantErr[i])
		}
		if r.Err == nil && (r.Appended.Index != wantIdx[i] || string(r.Appended.LeafHash) != string(batch[i].Leaf.LeafHash)) {
			t.Errorf("commit %d: appended %+v, want index %d", i, r.Appended, wantIdx[i])
		}
	}
	if mustSize(t, b) != 4 || mustUses(t, b, "s1", "c1") != 1 || mustUses(t, b, "s2", "c2") != 2 || mustUses(t, b, "s1", "c3") != 0 {
		t.Fatal("batch wrote more or less than its successful commits")
	}
	if mustSeen(t, b, "bank-a", "b3") || mustSeen(t, b, "bank-a", "b4") || !mustSeen(t, b, "bank-a", "b5") {
		t.Fatal("batch request ids do not match its results")
	}
	got, err := b.InquiryLeaves(t.Context(), 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	for j, want := range []store.Leaf{batch[0].Leaf, batch[2].Leaf, batch[6].Leaf} {
		if !sameLeaf(got[j].Leaf, want) {
			t.Fatalf("leaf %d = %+v, want %+v", j+1, got[j], want)
		}
	}
	if res, err := b.CommitBatch(t.Context(), nil); err != nil || len(res) != 0 {
		t.Fatalf("empty batch: %v, %v", res, err)
	}
}

func testDurability(t *testing.T, o Opener) {
	b, err := o(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rec := record("s1", "loans", "a", 1)
	if err := b.ImportRecords(t.Context(), []records.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "c1", 2, leaf("s1", 0))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendInquiry(t.Context(), leaf("s2", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendOutbound(t.Context(), leaf("s3", 2)); err != nil {
		t.Fatal(err)
	}
	if err := b.Revoke(t.Context(), store.Revocation{ConsentID: "c9", Subject: "s1", RevocationID: "rv", RevokedAt: baseTime}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b = open(t, o)
	if got := mustRecords(t, b, "s1", "loans"); len(got) != 1 || !sameRecord(got[0], rec) {
		t.Fatalf("records after reopen: %+v", got)
	}
	if !mustSeen(t, b, "bank-a", "r1") || mustUses(t, b, "s1", "c1") != 1 {
		t.Fatal("request id or consent use lost across reopen")
	}
	if revoked, err := b.Revoked(t.Context(), "s1", "c9"); err != nil || !revoked {
		t.Fatalf("revocation lost across reopen: %v, %v", revoked, err)
	}
	got, err := b.InquiryLeaves(t.Context(), 0, 2)
	if err != nil || !sameLeaf(got[0].Leaf, leaf("s1", 0)) || !sameLeaf(got[1].Leaf, leaf("s2", 1)) {
		t.Fatalf("inquiry leaves after reopen: %+v, %v", got, err)
	}
	if out, err := b.OutboundLeaves(t.Context(), 0, 1); err != nil || !sameLeaf(out[0].Leaf, leaf("s3", 2)) {
		t.Fatalf("outbound leaves after reopen: %+v, %v", out, err)
	}
	if _, err := b.CommitInquiry(t.Context(), commit("bank-a", "r1", "", 0, leaf("s1", 3))); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("replay after reopen: got %v, want ErrReplay", err)
	}
	// Indexes continue where they stopped.
	if a, err := b.AppendInquiry(t.Context(), leaf("s1", 4)); err != nil || a.Index != 2 {
		t.Fatalf("append after reopen: %+v, %v; want index 2", a, err)
	}
	if a, err := b.AppendOutbound(t.Context(), leaf("s1", 5)); err != nil || a.Index != 1 {
		t.Fatalf("outbound append after reopen: %+v, %v; want index 1", a, err)
	}
}

func testClosedUnavailable(t *testing.T, o Opener) {
	b, err := o(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	calls := map[string]func() error{
		"Ping":          func() error { return b.Ping(ctx) },
		"ImportRecords": func() error { return b.ImportRecords(ctx, []records.Record{record("s1", "loans", "a", 1)}) },
		"Records":       func() error { _, err := b.Records(ctx, "s1", []string{"loans"}); return err },
		"RequestSeen":   func() error { _, err := b.RequestSeen(ctx, "bank-a", "r1"); return err },
		"ConsentUses":   func() error { _, err := b.ConsentUses(ctx, "s1", "c1"); return err },
		"ConsentUsedElsewhere": func() error {
			_, err := b.ConsentUsedElsewhere(ctx, "s1", "c1")
			return err
		},
		"Revoke": func() error {
			return b.Revoke(ctx, store.Revocation{ConsentID: "c1", Subject: "s1", RevocationID: "rv", RevokedAt: baseTime})
		},
		"Revoked": func() error { _, err := b.Revoked(ctx, "s1", "c1"); return err },
		"CommitInquiry": func() error {
			_, err := b.CommitInquiry(ctx, commit("bank-a", "r1", "c1", 1, leaf("s1", 1)))
			return err
		},
		"CommitBatch": func() error {
			_, err := b.CommitBatch(ctx, []store.Commit{commit("bank-a", "r1", "c1", 1, leaf("s1", 1))})
			return err
		},
		"AppendInquiry":         func() error { _, err := b.AppendInquiry(ctx, leaf("s1", 1)); return err },
		"InquiryLeaves":         func() error { _, err := b.InquiryLeaves(ctx, 0, 1); return err },
		"SubjectInquiries":      func() error { _, err := b.SubjectInquiries(ctx, "s1"); return err },
		"SubjectInquiryPage":    func() error { _, err := b.SubjectInquiryPage(ctx, "s1", 0, 1); return err },
		"SubjectInquiryIndexes": func() error { _, err := b.SubjectInquiryIndexes(ctx, "s1"); return err },
		"InquiryLogSize":        func() error { _, err := b.InquiryLogSize(ctx); return err },
		"AppendOutbound":        func() error { _, err := b.AppendOutbound(ctx, leaf("s1", 1)); return err },
		"OutboundLeaves":        func() error { _, err := b.OutboundLeaves(ctx, 0, 1); return err },
		"OutboundLogSize":       func() error { _, err := b.OutboundLogSize(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s on a closed store: got %v, want ErrUnavailable", name, err)
		}
	}
}

// testOutboundSearch: the internal audit's search finds outbound leaves by
// subject, staff id, business reference, purpose and time, in index order,
// at most the limit; leaves appended before and after a reopen alike.
func testOutboundSearch(t *testing.T, o Opener) {
	ctx := t.Context()
	b := open(t, o)
	type req struct {
		subject, staff, ref, purpose string
		at                           time.Duration
	}
	reqs := []req{
		{"s1", "staff-7", "LA-1", "loan_approval", 0},
		{"s2", "staff-7", "LA-2", "loan_approval", time.Minute},
		{"s1", "staff-9", "LA-3", "post_loan_management", 2 * time.Minute},
		{"s1", "", "", "loan_approval", 3 * time.Minute}, // not through the internal API
	}
	for i, r := range reqs {
		l := leaf(r.subject, 100+i)
		l.Time = baseTime.Add(r.at)
		l.Audit = &store.AuditKeys{StaffID: r.staff, BusinessRef: r.ref, Purpose: r.purpose}
		if _, err := b.AppendOutbound(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.AppendInquiry(ctx, leaf("s1", 200)); err != nil { // the other log is not searched
		t.Fatal(err)
	}
	b.Close()
	b = open(t, o)
	for _, c := range []struct {
		name string
		f    store.OutboundSearch
		want []uint64
	}{
		{"subject", store.OutboundSearch{Subject: "s1"}, []uint64{0, 2, 3}},
		{"staff", store.OutboundSearch{StaffID: "staff-7"}, []uint64{0, 1}},
		{"staff and subject", store.OutboundSearch{StaffID: "staff-7", Subject: "s1"}, []uint64{0}},
		{"business reference", store.OutboundSearch{BusinessRef: "LA-3"}, []uint64{2}},
		{"purpose", store.OutboundSearch{Purpose: "loan_approval"}, []uint64{0, 1, 3}},
		{"time range", store.OutboundSearch{From: baseTime.Add(time.Minute), To: baseTime.Add(3 * time.Minute)}, []uint64{1, 2}},
		{"limit", store.OutboundSearch{Subject: "s1", Limit: 2}, []uint64{0, 2}},
		{"nothing", store.OutboundSearch{StaffID: "staff-1"}, nil},
	} {
		if c.f.Limit == 0 {
			c.f.Limit = 100
		}
		got, err := b.SearchOutbound(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var idx []uint64
		for _, l := range got {
			idx = append(idx, l.Index)
		}
		if !slices.Equal(idx, c.want) {
			t.Errorf("%s: found %v, want %v", c.name, idx, c.want)
		}
	}
	if _, err := b.SearchOutbound(ctx, store.OutboundSearch{Subject: "s1"}); err == nil {
		t.Error("a search without a limit was run")
	}
}
