package commitments

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
)

const digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func rec(id, status, due, fulfilled string) records.Record {
	c := Commitment{Matter: "supply certificate", Authority: "Bureau", TextDigest: digest, MadeOn: "2025-01-01",
		Due: due, Status: status, FulfilledOn: fulfilled}
	b, _ := json.Marshal(c)
	return records.Record{Subject: "91350100M000100Y43", Category: Category, ID: id, Data: b}
}

func TestOverdueBoundaries(t *testing.T) {
	due := "2025-03-31"
	for _, tc := range []struct {
		status string
		now    time.Time
		want   bool
		days   int
	}{
		{StatusPending, time.Date(2025, 3, 31, 23, 59, 0, 0, time.UTC), false, 0}, // the due day itself
		{StatusPending, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), true, 1},
		{StatusUnfulfilled, time.Date(2025, 4, 11, 8, 0, 0, 0, time.UTC), true, 11},
		{StatusUnfulfilled, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), false, 0},
		{StatusFulfilled, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, 0},
		{StatusWithdrawn, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, 0},
		// A time in another zone counts by its UTC date.
		{StatusPending, time.Date(2025, 4, 1, 7, 0, 0, 0, time.FixedZone("CST", 8*3600)), false, 0},
	} {
		c, err := Parse(rec("x", tc.status, due, "").Data)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Overdue(tc.now); got != tc.want {
			t.Errorf("%s at %v: Overdue = %v, want %v", tc.status, tc.now, got, tc.want)
		}
		if got := c.DaysOverdue(tc.now); got != tc.days {
			t.Errorf("%s at %v: DaysOverdue = %d, want %d", tc.status, tc.now, got, tc.days)
		}
	}
}

func TestScan(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	other := records.Record{Subject: "S", Category: "tax_payment", ID: "t", Data: json.RawMessage(`{"year":2024}`)}
	bad := records.Record{Subject: "S", Category: Category, ID: "bad", Data: json.RawMessage(`{"status":"pending","due":"soon"}`)}
	got, badOut := Scan([]records.Record{
		rec("c3", StatusPending, "2025-05-01", ""),
		rec("c1", StatusUnfulfilled, "2025-01-31", ""),
		rec("c2", StatusFulfilled, "2025-01-31", "2025-02-10"),
		rec("c4", StatusPending, "2025-06-01", ""),
		other, bad,
	}, now)
	if len(got) != 2 || got[0].RecordID != "c1" || got[1].RecordID != "c3" || got[1].DaysOverdue != 31 {
		t.Fatalf("Scan = %+v", got)
	}
	if len(badOut) != 1 || badOut[0].RecordID != "bad" || !errors.Is(badOut[0].Err, ErrBadCommitment) {
		t.Fatalf("bad = %+v", badOut)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, data := range []string{`[]`, `{"due":"2025-01-01","status":"maybe"}`, `{"status":"pending"}`, `{"due":"01/01/2025","status":"pending"}`} {
		if _, err := Parse(json.RawMessage(data)); !errors.Is(err, ErrBadCommitment) {
			t.Errorf("Parse(%s) = %v", data, err)
		}
	}
}

// FuzzParse: commitment records come from other nodes; Parse never panics
// and an accepted commitment always has a readable due date.
func FuzzParse(f *testing.F) {
	f.Add([]byte(rec("x", StatusPending, "2025-01-01", "").Data))
	f.Add([]byte(`{"due":"2025-02-30","status":"pending"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if _, err := c.due(); err != nil {
			t.Fatalf("accepted commitment with unreadable due: %v", err)
		}
		c.Overdue(time.Now())
	})
}
