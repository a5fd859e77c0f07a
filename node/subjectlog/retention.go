package subjectlog

import "time"

// Retention defaults.
const (
	// MinRetentionWindow is the shortest window RetentionWindow gives: room
	// for a poll round over several peers and a commit when the poll
	// interval is very short.
	MinRetentionWindow = 10 * time.Second
	// DefaultRetentionWindow is the window of a Committer configured with
	// none: RetentionWindow of the default 30 s poll interval.
	DefaultRetentionWindow = 90 * time.Second
	// DefaultMaxRevisions bounds the revisions a Committer keeps, in the
	// store and in memory (their checkpoints, about 0.5 KiB each with their
	// cosignatures), unless Retention.Max says otherwise.
	DefaultMaxRevisions = 256
)

// Retention is which committed revisions a Committer keeps, so that a
// witness cosignature can reach the checkpoint it cosigned and a subject be
// answered against a cosigned checkpoint while the map moves on every
// commit interval.
//
// A witness cosigns the newest checkpoint when it polls this node (or the
// newer one another witness cosigned, up to a poll interval later:
// node/witness follows the others), and this node collects that
// cosignature when it polls the witness, up to one more poll interval
// later: so a checkpoint superseded less than two poll intervals ago may
// still receive cosignatures. Kept, newest first until Max:
//
//   - the newest revision;
//   - the witnessed ones: each revision holding more cosignatures than every
//     newer one (so for every count c, the newest with at least c), at most
//     one per witness, kept however old until a newer one is as witnessed;
//   - those superseded less than Window ago, newest first.
type Retention struct {
	// Window is how long a superseded revision stays: at least twice the
	// witnesses' poll interval plus the time poll rounds take
	// (RetentionWindow); zero is DefaultRetentionWindow.
	Window time.Duration
	// Max bounds the kept revisions (at least 1); zero is
	// DefaultMaxRevisions.
	Max int
}

// RetentionWindow is the window for witnesses polling every poll: three
// poll intervals (two, and one for the rounds' durations), at least
// MinRetentionWindow.
func RetentionWindow(poll time.Duration) time.Duration {
	return max(3*poll, MinRetentionWindow)
}

func (r Retention) withDefaults() Retention {
	if r.Window <= 0 {
		r.Window = DefaultRetentionWindow
	}
	if r.Max <= 0 {
		r.Max = DefaultMaxRevisions
	}
	return r
}

// retain returns the snapshots of snaps (oldest first, the last the
// newest) that r keeps at now, oldest first. The caller holds the
// Committer's mu (it reads the cosignatures).
func (r Retention) retain(snaps []*snapshot, now time.Time) []*snapshot {
	n := len(snaps)
	if n == 0 {
		return nil
	}
	keep := make([]bool, n)
	keep[n-1] = true
	left := r.Max - 1
	best := len(snaps[n-1].cosigs)
	for i := n - 2; i >= 0 && left > 0; i-- {
		if c := len(snaps[i].cosigs); c > best {
			best, keep[i] = c, true
			left--
		}
	}
	for i := n - 2; i >= 0 && left > 0; i-- {
		if !keep[i] && now.Sub(snaps[i].superseded) < r.Window {
			keep[i] = true
			left--
		}
	}
	out := make([]*snapshot, 0, n)
	for i, s := range snaps {
		if keep[i] {
			out = append(out, s)
		}
	}
	return out
}
