// Package grading grades a subject A to D for credit-based supervision
// ("double random, one public": the grade sets how large a share of subjects
// is drawn for random inspection and how often), from the records a node can
// see: its own store and, optionally, peers' answers to statutory queries
// (purpose administrative_supervision), each through the peer's policy and
// inquiry log.
//
// The rules are Rego (policy/rego/grading.rego, package creditnode.grading)
// with their thresholds and the inspection table in the policy data, so the
// federation changes them by signed bundle. This package turns records into
// facts — one per record, evaluated for the grading day with the same rules
// the rest of the node uses (node/lists for list entries, node/commitments
// for overdue commitments, node/rights for the 5-year rule) — and asks the
// policy for the grade. It never logs and never puts record contents in
// errors.
package grading

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/creditexchange/node/node/commitments"
	"github.com/creditexchange/node/node/lists"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/policy"
)

// Purpose is the statutory purpose under which peers are asked.
const Purpose = "administrative_supervision"

// Record categories the grading rules read.
const (
	CategoryPenalty  = "administrative_penalty"
	CategoryAbnormal = "abnormal_operation"
	CategoryTax      = "tax_payment"
)

// Categories returns the categories the grading rules read, sorted.
func Categories() []string {
	return []string{CategoryAbnormal, CategoryPenalty, commitments.Category, CategoryTax, lists.Category}
}

// ErrBadRecord wraps a record that could not be read as a fact.
var ErrBadRecord = errors.New("grading: bad record")

// Grader evaluates the grading rules (*policy.Holder, *policy.Engine).
type Grader interface {
	Grade(ctx context.Context, in policy.GradingInput) (policy.Grading, error)
}

// Negativity says which categories hold negative information, subject to the
// 5-year rule (*schemas.CategoryValidator).
type Negativity interface {
	Negative(category string) bool
}

// Source is the records one place returned: "local" for this node's store, or
// a provider id.
type Source struct {
	Name    string
	Records []records.Record
	// Self, for the "local" source, is this node's member id: the provider
	// of the local records that did not come through a feed. A record that
	// came through a feed keeps its provider in its id ("PROVIDER/ID").
	Self string
}

// LocalSource is the name of the source holding this node's own store.
const LocalSource = "local"

// recordKey names a record across sources: its category, the member that
// provides it and that provider's record id. A record this node holds through
// a feed and the same record in the provider's live answer have one key, so
// a fact is counted once however many ways it arrived.
func recordKey(s Source, r records.Record) string {
	provider, id := s.Name, r.ID
	if s.Name == LocalSource {
		provider = s.Self
		if p, rest, ok := strings.Cut(r.ID, "/"); ok {
			provider, id = p, rest // received through provider p's feed
		}
		if provider == "" {
			provider = LocalSource
		}
	}
	return r.Category + "\x00" + provider + "\x00" + id
}

// Problem is a source or a record that could not be used. A grade with
// problems is incomplete: what was missed may have lowered it.
type Problem struct {
	Source   string
	RecordID string // "" when the whole source failed
	Err      error
}

// Report is a grade with where it came from.
type Report struct {
	Subject  string
	AsOf     string
	Grading  policy.Grading
	Sources  []string // sources that answered, in order
	Problems []Problem
	Input    policy.GradingInput // the facts the rules saw (ids, dates, amounts; no free text beyond the penalty)
}

// Complete reports whether every source answered and every record was read.
func (r *Report) Complete() bool { return len(r.Problems) == 0 }

// Facts turns records into the grading input for subject on now's date.
// Records of other subjects or categories are ignored; negative records past
// the 5-year rule are dropped; records that cannot be read are returned as
// problems and left out.
func Facts(subject string, srcs []Source, now time.Time, neg Negativity) (policy.GradingInput, []Problem) {
	in := policy.GradingInput{Subject: subject, AsOf: now.UTC().Format(time.DateOnly)}
	// One record per key; a provider's live answer replaces this node's
	// copy of the same record (it is at least as recent as the feed).
	type found struct {
		src Source
		rec records.Record
	}
	var order []string
	byKey := map[string]found{}
	for _, s := range srcs {
		for _, r := range s.Records {
			if r.Subject != subject {
				continue
			}
			k := recordKey(s, r)
			prev, seen := byKey[k]
			if !seen {
				order = append(order, k)
			}
			if !seen || (prev.src.Name == LocalSource && s.Name != LocalSource) {
				byKey[k] = found{s, r}
			}
		}
	}
	var problems []Problem
	for _, k := range order {
		f := byKey[k]
		ref := f.src.Name + "/" + f.rec.ID
		if err := addFact(&in, f.rec, ref, now, neg); err != nil {
			problems = append(problems, Problem{Source: f.src.Name, RecordID: f.rec.ID, Err: err})
		}
	}
	return in, problems
}

func addFact(in *policy.GradingInput, r records.Record, ref string, now time.Time, neg Negativity) error {
	if !slices.Contains(Categories(), r.Category) {
		return nil
	}
	if neg != nil && neg.Negative(r.Category) {
		kept, err := rights.Retained(true, r.Data, now)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadRecord, r.Category, err)
		}
		if !kept {
			return nil
		}
	}
	bad := func(err error) error { return fmt.Errorf("%w: %s: %w", ErrBadRecord, r.Category, err) }
	switch r.Category {
	case CategoryPenalty:
		var p struct {
			DecisionDate string  `json:"decision_date"`
			Penalty      string  `json:"penalty"`
			Amount       float64 `json:"amount"`
		}
		if err := json.Unmarshal(r.Data, &p); err != nil {
			return bad(err)
		}
		if _, err := time.Parse(time.DateOnly, p.DecisionDate); err != nil {
			return bad(errors.New("decision_date is not a date"))
		}
		in.Penalties = append(in.Penalties, policy.PenaltyFact{Ref: ref, DecisionDate: p.DecisionDate, Penalty: p.Penalty, Amount: p.Amount})
	case lists.Category:
		var e lists.Entry
		if err := json.Unmarshal(r.Data, &e); err != nil {
			return bad(err)
		}
		st, err := lists.Evaluate(e, now)
		if err != nil {
			return bad(err)
		}
		in.ListEntries = append(in.ListEntries, policy.StateFact{Ref: ref, InForce: st.InForce})
	case CategoryAbnormal:
		var a struct {
			ListedOn  string `json:"listed_on"`
			RemovedOn string `json:"removed_on"`
		}
		if err := json.Unmarshal(r.Data, &a); err != nil {
			return bad(err)
		}
		inForce, err := listedOn(a.ListedOn, a.RemovedOn, now)
		if err != nil {
			return bad(err)
		}
		in.AbnormalOperations = append(in.AbnormalOperations, policy.StateFact{Ref: ref, InForce: inForce})
	case commitments.Category:
		c, err := commitments.Parse(r.Data)
		if err != nil {
			return bad(err)
		}
		in.Commitments = append(in.Commitments, policy.CommitmentFact{Ref: ref, Overdue: c.Overdue(now)})
	case CategoryTax:
		var t struct {
			Year  int    `json:"year"`
			Grade string `json:"tax_credit_grade"`
		}
		if err := json.Unmarshal(r.Data, &t); err != nil {
			return bad(err)
		}
		in.Tax = append(in.Tax, policy.TaxFact{Ref: ref, Year: t.Year, TaxCreditGrade: t.Grade})
	}
	return nil
}

// listedOn says whether a listing from listed to removed ("" while listed) is
// in force on now's date (UTC): from the listing day, until the removal day.
func listedOn(listed, removed string, now time.Time) (bool, error) {
	l, err := time.Parse(time.DateOnly, listed)
	if err != nil {
		return false, errors.New("listed_on is not a date")
	}
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if today.Before(l) {
		return false, nil
	}
	if removed == "" {
		return true, nil
	}
	r, err := time.Parse(time.DateOnly, removed)
	if err != nil {
		return false, errors.New("removed_on is not a date")
	}
	return today.Before(r), nil
}

// Grade builds the facts from srcs and asks g for the grade.
func Grade(ctx context.Context, g Grader, subject string, srcs []Source, now time.Time, neg Negativity) (*Report, error) {
	in, problems := Facts(subject, srcs, now, neg)
	res, err := g.Grade(ctx, in)
	if err != nil {
		return nil, err
	}
	rep := &Report{Subject: subject, AsOf: in.AsOf, Grading: res, Problems: problems, Input: in}
	for _, s := range srcs {
		rep.Sources = append(rep.Sources, s.Name)
	}
	return rep, nil
}

// RecordReader reads this node's own records (node/store).
type RecordReader interface {
	Records(ctx context.Context, subject string, categories []string) ([]records.Record, error)
}

// Querier sends one query through a provider's pipeline (peer.Client).
type Querier interface {
	Query(ctx context.Context, q peer.Query) (*peer.Result, error)
}

// Ask is one peer to query and the categories it offers.
type Ask struct {
	Provider   string
	Categories []string
}

// Gatherer collects a subject's records for grading.
type Gatherer struct {
	Local   RecordReader // this node's store; nil to skip
	Self    string       // this node's member id, the provider of its own records
	Querier Querier      // needed only when peers are asked
}

// Gather reads the local records and asks each peer, in parallel, for the
// graded categories it offers. A peer that fails is a Problem, never silently
// dropped; the local store failing is an error.
func (g *Gatherer) Gather(ctx context.Context, subject string, asks []Ask) ([]Source, []Problem, error) {
	var srcs []Source
	if g.Local != nil {
		recs, err := g.Local.Records(ctx, subject, Categories())
		if err != nil {
			return nil, nil, err
		}
		srcs = append(srcs, Source{Name: LocalSource, Self: g.Self, Records: recs})
	}
	if len(asks) > 0 && g.Querier == nil {
		return nil, nil, errors.New("grading: asking peers needs a Querier")
	}
	asks = slices.Clone(asks)
	slices.SortFunc(asks, func(a, b Ask) int { return cmp.Compare(a.Provider, b.Provider) })
	type answer struct {
		src Source
		err error
	}
	answers := make([]answer, len(asks))
	var wg sync.WaitGroup
	for i, a := range asks {
		cats := intersect(a.Categories, Categories())
		if len(cats) == 0 {
			answers[i] = answer{src: Source{Name: a.Provider}}
			continue
		}
		wg.Go(func() {
			res, err := g.Querier.Query(ctx, peer.Query{Provider: a.Provider, Subject: subject, Purpose: Purpose, Categories: cats})
			if err != nil {
				answers[i] = answer{err: err}
				return
			}
			s := Source{Name: a.Provider}
			for _, r := range res.Response.Records {
				s.Records = append(s.Records, records.Record{Subject: subject, Category: r.Category, ID: r.ID, Data: r.Data})
			}
			answers[i] = answer{src: s}
		})
	}
	wg.Wait()
	var problems []Problem
	for i, a := range answers {
		if a.err != nil {
			problems = append(problems, Problem{Source: asks[i].Provider, Err: a.err})
			continue
		}
		srcs = append(srcs, a.src)
	}
	return srcs, problems, nil
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
