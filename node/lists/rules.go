// Package lists handles entries on lists of seriously untrustworthy entities
// (category "untrustworthy_list", schema in schemas/categories), the joint
// punishment measures they trigger, and the publication rules:
//
//   - an entry is in force from listed_on until removed_on; removal (credit
//     repair, end of the period, an upheld objection, a revoked decision)
//     ends its publication and every measure at once;
//   - a measure with a fixed term ends after its "until" day;
//   - an entry is public while in force and up to its publication_end;
//   - administrative penalty decisions must be public within
//     PublicationWorkingDays working days of the decision, and stop being
//     public after their publication_end (PenaltyWindow);
//   - negative information is not provided 5 years after the conduct ended
//     (node/rights.Retained, enforced by every provider before records leave,
//     and applied here too so a stale answer never counts).
//
// Working days are Monday to Friday. Public holidays and the weekend days
// made working days in exchange are not modelled unless a Calendar is given.
//
// Check fans a joint_punishment_check query out to every provider, through
// each provider's full query pipeline (policy, inquiry log), and merges the
// entries in force and their measures. Every rule takes the time as an
// argument. The package never logs.
package lists

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/creditexchange/node/node/rights"
)

// Category is the record category of list entries.
const Category = "untrustworthy_list"

// Purpose is the purpose code of a joint punishment check.
const Purpose = "joint_punishment_check"

// PublicationWorkingDays is the time within which an administrative penalty
// decision must be published ("double publicity": 7 working days).
const PublicationWorkingDays = 7

// ErrBadEntry is returned for an entry or penalty whose dates cannot be read.
var ErrBadEntry = errors.New("lists: bad entry")

// Entry is a list entry as the category schema defines it.
type Entry struct {
	List              string    `json:"list"`
	ListName          string    `json:"list_name"`
	Basis             string    `json:"basis,omitempty"`
	Authority         string    `json:"authority"`
	DecisionNo        string    `json:"decision_no,omitempty"`
	DecidedOn         string    `json:"decided_on,omitempty"`
	ListedOn          string    `json:"listed_on"`
	Measures          []Measure `json:"measures"`
	PublicationEnd    string    `json:"publication_end,omitempty"`
	RemovalConditions string    `json:"removal_conditions,omitempty"`
	Objection         string    `json:"objection,omitempty"`
	RemovedOn         string    `json:"removed_on,omitempty"`
	RemovalReason     string    `json:"removal_reason,omitempty"`
	ConductEnd        string    `json:"conduct_end,omitempty"`
}

// Measure is one joint punishment measure.
type Measure struct {
	Code          string `json:"code"`
	Description   string `json:"description"`
	ImplementedBy string `json:"implemented_by,omitempty"`
	Until         string `json:"until,omitempty"`
}

// Status is what an entry means on a day.
type Status struct {
	InForce   bool      // listed and not removed
	Published bool      // shown publicly: in force and within its publication period
	Retained  bool      // may still be provided at all (5-year rule)
	Measures  []Measure // the measures in force
}

// day is t's calendar date in UTC, at midnight.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func parseDay(field, s string) (time.Time, bool, error) {
	if s == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%w: %s: %v", ErrBadEntry, field, err)
	}
	return t, true, nil
}

// Evaluate says what e means on now's date (UTC). Dates are inclusive:
// an entry listed on D is in force on D; removed on R, it is no longer in
// force on R; a measure until U still applies on U; publication_end P is the
// last public day.
func Evaluate(e Entry, now time.Time) (Status, error) {
	today := day(now)
	raw, err := json.Marshal(e)
	if err != nil {
		return Status{}, err
	}
	retained, err := rights.Retained(true, raw, now)
	if err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrBadEntry, err)
	}
	listed, ok, err := parseDay("listed_on", e.ListedOn)
	if err != nil {
		return Status{}, err
	}
	if !ok {
		return Status{}, fmt.Errorf("%w: listed_on missing", ErrBadEntry)
	}
	removed, isRemoved, err := parseDay("removed_on", e.RemovedOn)
	if err != nil {
		return Status{}, err
	}
	pubEnd, hasPubEnd, err := parseDay("publication_end", e.PublicationEnd)
	if err != nil {
		return Status{}, err
	}
	st := Status{Retained: retained}
	st.InForce = retained && !today.Before(listed) && !(isRemoved && !today.Before(removed))
	st.Published = st.InForce && (!hasPubEnd || !today.After(pubEnd))
	if !st.InForce {
		return st, nil
	}
	for _, m := range e.Measures {
		until, hasUntil, err := parseDay("measures.until", m.Until)
		if err != nil {
			return Status{}, err
		}
		if !hasUntil || !today.After(until) {
			st.Measures = append(st.Measures, m)
		}
	}
	return st, nil
}

// Calendar names non-working days beyond Saturdays and Sundays (public
// holidays). A nil Calendar models none.
type Calendar interface {
	Holiday(day time.Time) bool
}

// WorkingDay reports whether d's date is a working day: Monday to Friday and
// not a holiday of cal.
func WorkingDay(d time.Time, cal Calendar) bool {
	d = day(d)
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return cal == nil || !cal.Holiday(d)
}

// AddWorkingDays returns the n-th working day after start's date (n ≥ 0; for
// 0, start's date itself).
func AddWorkingDays(start time.Time, n int, cal Calendar) time.Time {
	d := day(start)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if WorkingDay(d, cal) {
			n--
		}
	}
	return d
}

// Window is the publication period of an administrative penalty decision.
type Window struct {
	Decided time.Time // decision_date: publication may start that day
	Due     time.Time // last day by which it must be public: decision + 7 working days
	Until   time.Time // publication_end (last public day); zero if none was set
}

// PenaltyWindow reads the publication window of an administrative penalty
// record (fields decision_date and publication_end).
func PenaltyWindow(data json.RawMessage, cal Calendar) (Window, error) {
	var p struct {
		DecisionDate   string `json:"decision_date"`
		PublicationEnd string `json:"publication_end"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return Window{}, fmt.Errorf("%w: %v", ErrBadEntry, err)
	}
	decided, ok, err := parseDay("decision_date", p.DecisionDate)
	if err != nil {
		return Window{}, err
	}
	if !ok {
		return Window{}, fmt.Errorf("%w: decision_date missing", ErrBadEntry)
	}
	until, _, err := parseDay("publication_end", p.PublicationEnd)
	if err != nil {
		return Window{}, err
	}
	return Window{Decided: decided, Due: AddWorkingDays(decided, PublicationWorkingDays, cal), Until: until}, nil
}

// Public reports whether the decision is to be shown publicly on now's date:
// from the decision day through publication_end.
func (w Window) Public(now time.Time) bool {
	today := day(now)
	return !today.Before(w.Decided) && (w.Until.IsZero() || !today.After(w.Until))
}

// Overdue reports whether a decision not yet published on now's date has
// missed its deadline.
func (w Window) Overdue(now time.Time) bool { return day(now).After(w.Due) }
