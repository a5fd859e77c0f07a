package subjectlog

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestRetention: the newest revision, the witnessed ones (more
// cosignatures than every newer one) however old, and those superseded
// within the window are kept, newest first up to Max.
func TestRetention(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	// snaps builds revisions 1, 2, … superseded the given seconds before
	// now (the last, the newest, never) with the given cosignatures.
	type rev struct {
		ago    int // seconds since it was superseded
		cosigs int
	}
	snaps := func(revs ...rev) []*snapshot {
		var out []*snapshot
		for i, r := range revs {
			s := &snapshot{cp: Checkpoint{}}
			s.cp.Size = uint64(i + 1)
			if i < len(revs)-1 {
				s.superseded = now.Add(-time.Duration(r.ago) * time.Second)
			}
			for j := range r.cosigs {
				s.cosigs = append(s.cosigs, note.Signature{Name: fmt.Sprintf("w%d", j)})
			}
			out = append(out, s)
		}
		return out
	}
	sizes := func(ss []*snapshot) string {
		var out []uint64
		for _, s := range ss {
			out = append(out, s.cp.Size)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		name string
		r    Retention
		revs []rev
		want string
	}{
		{"only the newest", Retention{Window: time.Minute, Max: 8}, []rev{{}}, "[1]"},
		{"window", Retention{Window: time.Minute, Max: 8},
			[]rev{{ago: 300}, {ago: 61}, {ago: 60}, {ago: 59}, {ago: 1}, {}}, "[4 5 6]"},
		{"witnessed kept however old", Retention{Window: time.Minute, Max: 8},
			[]rev{{ago: 3600, cosigs: 2}, {ago: 3000, cosigs: 1}, {ago: 2000}, {ago: 1000, cosigs: 1}, {ago: 10}, {}}, "[1 4 5 6]"},
		{"a newer witnessed one releases an older", Retention{Window: time.Minute, Max: 8},
			[]rev{{ago: 3600, cosigs: 1}, {ago: 3000, cosigs: 2}, {ago: 30, cosigs: 1}, {ago: 10}, {cosigs: 2}}, "[3 4 5]"},
		{"bound: witnessed before the window", Retention{Window: time.Minute, Max: 3},
			[]rev{{ago: 3600, cosigs: 1}, {ago: 50}, {ago: 40}, {ago: 30}, {ago: 20}, {}}, "[1 5 6]"},
		{"bound: window newest first", Retention{Window: time.Minute, Max: 4},
			[]rev{{ago: 50}, {ago: 40}, {ago: 30}, {ago: 20}, {ago: 10}, {}}, "[3 4 5 6]"},
		{"bound of one", Retention{Window: time.Minute, Max: 1},
			[]rev{{ago: 10, cosigs: 3}, {}}, "[2]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := sizes(c.r.retain(snaps(c.revs...), now)); got != c.want {
				t.Fatalf("kept %s, want %s", got, c.want)
			}
		})
	}
	if got := sizes(Retention{}.withDefaults().retain(nil, now)); got != "[]" {
		t.Fatalf("of none: %s", got)
	}
	if w := RetentionWindow(time.Second); w != MinRetentionWindow {
		t.Fatalf("window of a 1s poll: %v", w)
	}
	if w := RetentionWindow(30 * time.Second); w != 90*time.Second {
		t.Fatalf("window of a 30s poll: %v", w)
	}
	if DefaultRetentionWindow != RetentionWindow(30*time.Second) {
		t.Fatalf("default window %v", DefaultRetentionWindow)
	}
}
