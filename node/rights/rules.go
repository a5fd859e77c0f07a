package rights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidwall/gjson"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// AnswerWithin is how long the provider has to answer an objection.
const AnswerWithin = 20 * 24 * time.Hour

// RetentionYears is how long negative information is provided after the end
// of the conduct.
const RetentionYears = 5

// ConductEndField is the record field holding the date the conduct ended
// (JSON Schema format "date"); absent while the conduct continues.
const ConductEndField = "conduct_end"

// ErrBadConductEnd is returned by Retained when a negative record's
// conduct_end is not a date. Callers withhold such a record.
var ErrBadConductEnd = errors.New("rights: conduct_end is not a YYYY-MM-DD date")

// DueBy is when an objection filed at filed must be answered.
func DueBy(filed time.Time) time.Time { return filed.Add(AnswerWithin) }

// Overdue reports whether an objection is still open after its deadline:
// at exactly DueBy it is not yet overdue, one instant later it is.
func Overdue(o store.Objection, now time.Time) bool {
	return o.Status == schemas.ObjectionOpen && now.After(DueBy(o.FiledAt))
}

// RetentionEnd is the instant from which a negative record whose conduct
// ended on the date conductEnd is no longer provided: 00:00 UTC of the
// RetentionYears-th anniversary (29 February rolls to 1 March).
func RetentionEnd(conductEnd time.Time) time.Time {
	y, m, d := conductEnd.Date()
	return time.Date(y+RetentionYears, m, d, 0, 0, 0, 0, time.UTC)
}

// Retained reports whether a record may still be provided at now. Records
// of categories that are not negative are always retained; so are negative
// records without conduct_end (the conduct continues). A negative record
// whose conduct_end is present but not a date yields ErrBadConductEnd and
// is not retained.
func Retained(negative bool, data json.RawMessage, now time.Time) (bool, error) {
	if !negative {
		return true, nil
	}
	v := gjson.GetBytes(data, ConductEndField)
	if !v.Exists() || v.Type == gjson.Null {
		return true, nil
	}
	if v.Type != gjson.String {
		return false, ErrBadConductEnd
	}
	end, err := time.Parse(time.DateOnly, v.Str)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadConductEnd, err)
	}
	return now.Before(RetentionEnd(end)), nil
}

// Negatives says which categories hold negative information
// (*schemas.CategoryValidator satisfies it).
type Negatives interface {
	Negative(category string) bool
}

var _ Negatives = (*schemas.CategoryValidator)(nil)

// ObjectionOut is the wire form of o as of now.
func ObjectionOut(o store.Objection, now time.Time) schemas.ObjectionOut {
	out := schemas.ObjectionOut{
		ID: o.ID, Subject: o.Subject, Category: o.Category, RecordID: o.RecordID, Reason: o.Reason,
		Status: o.Status, FiledAt: stamp(o.FiledAt), DueBy: stamp(DueBy(o.FiledAt)),
		Outcome: o.Outcome, Overdue: Overdue(o, now),
	}
	if !o.ResolvedAt.IsZero() {
		out.ResolvedAt = stamp(o.ResolvedAt)
	}
	return out
}

// RepairOut is the wire form of r.
func RepairOut(r store.Repair) schemas.RepairOut {
	out := schemas.RepairOut{
		ID: r.ID, Subject: r.Subject, Category: r.Category, RecordID: r.RecordID, Reason: r.Reason,
		Status: r.Status, FiledAt: stamp(r.FiledAt), Outcome: r.Outcome,
	}
	if !r.DecidedAt.IsZero() {
		out.DecidedAt = stamp(r.DecidedAt)
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// OpenObjectionCounter counts open objections filed before a time
// (*store.SQLite implements it).
type OpenObjectionCounter interface {
	CountOpenObjections(ctx context.Context, filedBefore time.Time) (int, error)
}

// OverdueCount adapts a store to the overdue count (for metrics).
type OverdueCount struct{ Store OpenObjectionCounter }

// OverdueObjections counts the objections open past AnswerWithin at now:
// filed strictly before now − 20 days, so one filed exactly 20 days ago is
// not yet counted.
func (c OverdueCount) OverdueObjections(ctx context.Context, now time.Time) (int, error) {
	return c.Store.CountOpenObjections(ctx, now.Add(-AnswerWithin))
}
