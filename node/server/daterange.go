package server

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// The data date range (fair use). A consent may bound the dates of the
// records it lets out (schemas.ConsentClaims.DataFrom/DataTo), and the
// policy data may cap how far back a purpose looks (fair_use.max_data_days);
// the policy returns the resulting range as the obligations "data_from" and
// "data_to" (inclusive dates, either may be absent), and the provider drops
// every record dated outside it before projection.
//
// A record's date is the period one of its fields names, per category:
//
//	category                field           period
//	tax_payment             year            the calendar year
//	customs                 year            the calendar year
//	social_insurance        month           the calendar month (YYYY-MM)
//	utility_payment         month           the calendar month (YYYY-MM)
//	administrative_penalty  decision_date   that day
//	judicial_enforcement    filed           that day
//	abnormal_operation      listed_on       that day
//	untrustworthy_list      listed_on       that day
//
// A record is in range when its period overlaps [data_from, data_to]: a tax
// year 2024 is kept for data_from 2024-12-31 and dropped for 2025-01-01.
// Categories not listed (registration: the current state of the subject)
// are never dropped. A record of a listed category without a readable date
// is dropped whenever a range applies: fail closed.
func dateFieldOf(category string) (field string, unit dateUnit, dated bool) {
	switch category {
	case "tax_payment", "customs":
		return "year", unitYear, true
	case "social_insurance", "utility_payment":
		return "month", unitMonth, true
	case "administrative_penalty":
		return "decision_date", unitDay, true
	case "judicial_enforcement":
		return "filed", unitDay, true
	case "abnormal_operation", "untrustworthy_list":
		return "listed_on", unitDay, true
	}
	return "", 0, false
}

type dateUnit int

const (
	unitDay dateUnit = iota
	unitMonth
	unitYear
)

// dataRange is an inclusive range of days; a zero bound is open.
type dataRange struct{ from, to time.Time }

// dataRangeOf reads the range from a decision's obligations; ok is false
// when no range applies. A bound that is not a date is an error (the
// caller fails closed).
func dataRangeOf(obligations map[string]any) (r dataRange, ok bool, err error) {
	for key, dst := range map[string]*time.Time{"data_from": &r.from, "data_to": &r.to} {
		v, present := obligations[key]
		if !present {
			continue
		}
		s, isString := v.(string)
		t, perr := time.Parse(schemas.DateLayout, s)
		if !isString || perr != nil {
			return dataRange{}, false, fmt.Errorf("server: obligation %s is not a date", key)
		}
		*dst, ok = t, true
	}
	return r, ok, nil
}

// period returns the first and last day a record covers, or ok false when
// its category is dated but the record has no readable date.
func period(r records.Record) (first, last time.Time, dated, ok bool) {
	field, unit, dated := dateFieldOf(r.Category)
	if !dated {
		return time.Time{}, time.Time{}, false, true
	}
	v := gjson.GetBytes(r.Data, field)
	switch unit {
	case unitYear:
		y, err := strconv.Atoi(v.Raw)
		if v.Type != gjson.Number || err != nil || y < 1 || y > 9999 {
			return time.Time{}, time.Time{}, true, false
		}
		first = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		return first, first.AddDate(1, 0, -1), true, true
	case unitMonth:
		t, err := time.Parse("2006-01", v.Str)
		if v.Type != gjson.String || err != nil {
			return time.Time{}, time.Time{}, true, false
		}
		return t, t.AddDate(0, 1, -1), true, true
	default:
		t, err := time.Parse(schemas.DateLayout, v.Str)
		if v.Type != gjson.String || err != nil {
			return time.Time{}, time.Time{}, true, false
		}
		return t, t, true, true
	}
}

// inRange reports whether the record's period overlaps r.
func (r dataRange) inRange(rec records.Record) bool {
	first, last, dated, ok := period(rec)
	switch {
	case !dated:
		return true
	case !ok:
		return false
	case !r.from.IsZero() && last.Before(r.from):
		return false
	case !r.to.IsZero() && first.After(r.to):
		return false
	}
	return true
}

// filterDataRange drops the records dated outside the decision's data
// range, if it has one.
func filterDataRange(recs []records.Record, obligations map[string]any) ([]records.Record, error) {
	r, ok, err := dataRangeOf(obligations)
	if err != nil || !ok {
		return recs, err
	}
	out := recs[:0:0]
	for _, rec := range recs {
		if r.inRange(rec) {
			out = append(out, rec)
		}
	}
	return out, nil
}
