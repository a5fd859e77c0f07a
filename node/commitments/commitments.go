// Package commitments handles credit commitments (category "commitment",
// schema in schemas/categories/commitment.json): a subject's written promise
// to an authority — to supply missing licence materials in time, to rectify,
// to keep to the law — and whether it was kept.
//
// Only the digest of the commitment letter travels between nodes; the letter
// stays with the authority that accepted it.
//
// A commitment is overdue on a day when it is still pending, or found
// unfulfilled, and its due day has passed. Dates are calendar days in UTC and
// inclusive: a commitment due on D may still be fulfilled on D and is overdue
// from D+1. A commitment fulfilled late is fulfilled, not overdue; a
// withdrawn one is neither. Every rule takes the time as an argument; the
// package never logs.
package commitments

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/creditexchange/node/node/records"
)

// Category is the record category of credit commitments.
const Category = "commitment"

// Statuses of a commitment.
const (
	StatusPending     = "pending"
	StatusFulfilled   = "fulfilled"
	StatusUnfulfilled = "unfulfilled"
	StatusWithdrawn   = "withdrawn"
)

// ErrBadCommitment is returned for a commitment whose dates or status cannot
// be read. The error names the field, never its value.
var ErrBadCommitment = errors.New("commitments: bad commitment")

// Commitment is a commitment record as the category schema defines it.
type Commitment struct {
	Matter      string `json:"matter"`
	Authority   string `json:"authority"`
	TextDigest  string `json:"text_digest"`
	MadeOn      string `json:"made_on"`
	Due         string `json:"due"`
	Status      string `json:"status"`
	FulfilledOn string `json:"fulfilled_on,omitempty"`
	ConductEnd  string `json:"conduct_end,omitempty"`
}

// Parse reads a commitment record's data.
func Parse(data json.RawMessage) (Commitment, error) {
	var c Commitment
	if err := json.Unmarshal(data, &c); err != nil {
		return Commitment{}, fmt.Errorf("%w: %v", ErrBadCommitment, err)
	}
	if _, err := c.due(); err != nil {
		return Commitment{}, err
	}
	switch c.Status {
	case StatusPending, StatusFulfilled, StatusUnfulfilled, StatusWithdrawn:
	default:
		return Commitment{}, fmt.Errorf("%w: unknown status", ErrBadCommitment)
	}
	return c, nil
}

func (c Commitment) due() (time.Time, error) {
	if c.Due == "" {
		return time.Time{}, fmt.Errorf("%w: due missing", ErrBadCommitment)
	}
	t, err := time.Parse(time.DateOnly, c.Due)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: due is not a date", ErrBadCommitment)
	}
	return t, nil
}

// Overdue reports whether c is unkept past its due day on now's date (UTC).
func (c Commitment) Overdue(now time.Time) bool {
	if c.Status != StatusPending && c.Status != StatusUnfulfilled {
		return false
	}
	due, err := c.due()
	if err != nil {
		return false // Parse refuses such a commitment before anyone asks
	}
	return day(now).After(due)
}

// DaysOverdue is how many days past due c is on now's date; 0 if not overdue.
func (c Commitment) DaysOverdue(now time.Time) int {
	if !c.Overdue(now) {
		return 0
	}
	due, _ := c.due()
	return int(day(now).Sub(due).Hours() / 24)
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Flagged is one commitment record that is overdue.
type Flagged struct {
	Subject     string
	RecordID    string
	Commitment  Commitment
	DaysOverdue int
}

// BadRecord is a commitment record that could not be read.
type BadRecord struct {
	Subject  string
	RecordID string
	Err      error
}

// Scan returns the overdue commitments among recs (records of other
// categories are skipped), by subject then record id, and the records that
// could not be read: a bad record is reported, never silently dropped.
func Scan(recs []records.Record, now time.Time) ([]Flagged, []BadRecord) {
	var out []Flagged
	var bad []BadRecord
	for _, r := range recs {
		if r.Category != Category {
			continue
		}
		c, err := Parse(r.Data)
		if err != nil {
			bad = append(bad, BadRecord{Subject: r.Subject, RecordID: r.ID, Err: err})
			continue
		}
		if c.Overdue(now) {
			out = append(out, Flagged{Subject: r.Subject, RecordID: r.ID, Commitment: c, DaysOverdue: c.DaysOverdue(now)})
		}
	}
	slices.SortFunc(out, func(a, b Flagged) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.RecordID, b.RecordID))
	})
	return out, bad
}
