package lists

import (
	"time"

	"github.com/creditexchange/node/node/records"
)

// PenaltyCategory is the record category of administrative penalty decisions.
const PenaltyCategory = "administrative_penalty"

// LatePublication is an administrative penalty the provider published after
// its deadline: the record was imported or last updated (UpdatedAt) after
// the PublicationWorkingDays-th working day following the decision.
type LatePublication struct {
	Subject   string
	ID        string
	Decided   time.Time // decision_date
	Due       time.Time // last day it should have been public by
	Published time.Time // the record's UpdatedAt
}

// LatePublications returns, in the order of recs, the administrative
// penalties published late (UpdatedAt's UTC date after the due day), and how
// many penalty records could not be judged (no decision_date readable, or no
// UpdatedAt). Records of other categories are ignored. A record updated
// after publication (a correction) counts from its last update: the store
// keeps no first-publication time.
func LatePublications(recs []records.Record, cal Calendar) (late []LatePublication, unknown int) {
	for _, r := range recs {
		if r.Category != PenaltyCategory {
			continue
		}
		w, err := PenaltyWindow(r.Data, cal)
		if err != nil || r.UpdatedAt.IsZero() {
			unknown++
			continue
		}
		if w.Overdue(r.UpdatedAt) {
			late = append(late, LatePublication{Subject: r.Subject, ID: r.ID, Decided: w.Decided, Due: w.Due, Published: r.UpdatedAt})
		}
	}
	return late, unknown
}
