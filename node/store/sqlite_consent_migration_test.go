package store

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestMigrationConsentUsesBySubject opens a database at schema version 12,
// whose consent_uses is keyed by consent id alone, and checks that 0013
// gives each subject that used a consent id the old count (never fewer uses
// spent than before), and keys new uses by (subject, consent id).
func TestMigrationConsentUsesBySubject(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	entry := func(idx int, subject, consentID string) string {
		return fmt.Sprintf(`INSERT INTO inquiry_log (idx, subject, time, entry, salt, leaf_hash)
			VALUES (%d, '%s', 1, CAST('{"kind":"query","consent_id":"%s"}' AS BLOB), zeroblob(32), zeroblob(32))`, idx, subject, consentID)
	}
	// c1 was used by s1 twice and by s2 once (one shared counter: 3); c2 by
	// s1 once; c3's row has no log entry to attribute it to.
	openAtVersion(t, path, 12,
		entry(0, "s1", "c1"), entry(1, "s1", "c1"), entry(2, "s2", "c1"), entry(3, "s1", "c2"), entry(4, "s3", ""),
		`INSERT INTO consent_uses (consent_id, uses) VALUES ('c1', 3), ('c2', 1), ('c3', 2)`)

	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("open after upgrade: %v", err)
	}
	defer s.Close()
	for _, tc := range []struct {
		subject, consentID string
		want               int
	}{{"s1", "c1", 3}, {"s2", "c1", 3}, {"s3", "c1", 0}, {"s1", "c2", 1}, {"s2", "c2", 0}, {"s1", "c3", 0}} {
		if got, err := s.ConsentUses(ctx, tc.subject, tc.consentID); err != nil || got != tc.want {
			t.Errorf("ConsentUses(%s, %s) = %d, %v; want %d", tc.subject, tc.consentID, got, err, tc.want)
		}
	}
	// New uses count per subject: s3's first use of c1 is its own.
	if _, err := s.CommitInquiry(ctx, Commit{Requester: "bank-a", RequestID: "r1", ConsentID: "c1", MaxUses: 1, Leaf: testLeaf("s3", 5)}); err != nil {
		t.Fatalf("s3's first use of c1: %v", err)
	}
	if got, _ := s.ConsentUses(ctx, "s3", "c1"); got != 1 {
		t.Fatalf("s3 uses of c1 = %d, want 1", got)
	}
}

// TestMigrationOutboundAudit opens a database at schema version 15, whose
// outbound leaves have no audit index, and checks that 0016 indexes them
// from their entries, so the internal audit finds queries made before the
// upgrade.
func TestMigrationOutboundAudit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "node.db")
	entry := func(idx int, subject, staff, ref string) string {
		return fmt.Sprintf(`INSERT INTO outbound_log (idx, subject, time, entry, salt, leaf_hash)
			VALUES (%d, '%s', %d, CAST('{"stage":"receipt","subject":"%s","purpose":"loan_approval","staff_id":"%s","business_ref":"%s"}' AS BLOB), zeroblob(32), zeroblob(32))`,
			idx, subject, idx+1, subject, staff, ref)
	}
	openAtVersion(t, path, 15, entry(0, "s1", "staff-7", "LA-1"), entry(1, "s2", "staff-9", "LA-2"),
		`INSERT INTO outbound_log (idx, subject, time, entry, salt, leaf_hash) VALUES (2, 's1', 3, CAST('{"stage":"sent","subject":"s1"}' AS BLOB), zeroblob(32), zeroblob(32))`)
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("open after upgrade: %v", err)
	}
	defer s.Close()
	for _, tc := range []struct {
		f    OutboundSearch
		want []uint64
	}{
		{OutboundSearch{StaffID: "staff-7", Limit: 10}, []uint64{0}},
		{OutboundSearch{BusinessRef: "LA-2", Limit: 10}, []uint64{1}},
		{OutboundSearch{Purpose: "loan_approval", Limit: 10}, []uint64{0, 1}},
		{OutboundSearch{Subject: "s1", Limit: 10}, []uint64{0, 2}},
	} {
		got, err := s.SearchOutbound(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var idx []uint64
		for _, l := range got {
			idx = append(idx, l.Index)
		}
		if fmt.Sprint(idx) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: found %v, want %v", tc.f, idx, tc.want)
		}
	}
}
