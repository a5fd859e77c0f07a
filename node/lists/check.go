package lists

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/creditexchange/node/node/peer"
)

// Querier sends one query through a provider's pipeline (peer.Client).
type Querier interface {
	Query(ctx context.Context, q peer.Query) (*peer.Result, error)
}

// Checker runs joint punishment checks as this node.
type Checker struct {
	Querier Querier
	Clock   func() time.Time // defaults to time.Now
}

// Finding is one list entry a provider returned, with its meaning today.
type Finding struct {
	Provider string
	RecordID string
	Entry    Entry
	Status   Status
}

// Applied is one measure in force, merged across the entries that impose it.
type Applied struct {
	Code        string
	Description string
	Until       string   // latest fixed end across entries; "" if any entry imposes it without end
	ImposedBy   []string // "provider/record id" of each entry imposing it, sorted
}

// ProviderError is a provider that could not answer.
type ProviderError struct {
	Provider string
	Err      error
}

// Outcome is the merged answer of a joint punishment check.
type Outcome struct {
	Subject  string
	Checked  []string        // providers that answered, sorted
	Failed   []ProviderError // providers that did not, sorted
	Findings []Finding       // every entry returned (in force or not), by provider and record id
	Measures []Applied       // measures in force, by code
}

// Listed reports whether any entry is in force.
func (o *Outcome) Listed() bool {
	return slices.ContainsFunc(o.Findings, func(f Finding) bool { return f.Status.InForce })
}

// Complete reports whether every provider answered: an incomplete check
// cannot clear a subject.
func (o *Outcome) Complete() bool { return len(o.Failed) == 0 }

// Check asks every provider, in parallel, for the subject's list entries under
// the joint_punishment_check purpose, and merges the answers. Each provider
// logs the inquiry before answering; a provider that refuses or cannot be
// reached is reported in Failed, never silently dropped.
func (c *Checker) Check(ctx context.Context, subject string, providers []string) (*Outcome, error) {
	if c.Querier == nil {
		return nil, errors.New("lists: Checker needs a Querier")
	}
	clock := c.Clock
	if clock == nil {
		clock = time.Now
	}
	providers = slices.Clone(providers)
	slices.Sort(providers)
	providers = slices.Compact(providers)
	type answer struct {
		res *peer.Result
		err error
	}
	answers := make([]answer, len(providers))
	var wg sync.WaitGroup
	for i, p := range providers {
		wg.Go(func() {
			res, err := c.Querier.Query(ctx, peer.Query{Provider: p, Subject: subject, Purpose: Purpose, Categories: []string{Category}})
			answers[i] = answer{res, err}
		})
	}
	wg.Wait()
	now := clock()
	out := &Outcome{Subject: subject}
	for i, p := range providers {
		a := answers[i]
		if a.err != nil {
			out.Failed = append(out.Failed, ProviderError{Provider: p, Err: a.err})
			continue
		}
		out.Checked = append(out.Checked, p)
		if out.Subject == subject && a.res.Response.Subject != "" {
			out.Subject = a.res.Response.Subject // normalised by the provider
		}
		for _, r := range a.res.Response.Records {
			if r.Category != Category {
				continue
			}
			var e Entry
			if err := json.Unmarshal(r.Data, &e); err != nil {
				out.Failed = append(out.Failed, ProviderError{Provider: p, Err: errors.Join(ErrBadEntry, err)})
				continue
			}
			st, err := Evaluate(e, now)
			if err != nil {
				out.Failed = append(out.Failed, ProviderError{Provider: p, Err: err})
				continue
			}
			out.Findings = append(out.Findings, Finding{Provider: p, RecordID: r.ID, Entry: e, Status: st})
		}
	}
	slices.SortFunc(out.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.RecordID, b.RecordID))
	})
	out.Measures = merge(out.Findings)
	return out, nil
}

// merge gathers the measures in force by code.
func merge(fs []Finding) []Applied {
	byCode := map[string]*Applied{}
	openEnded := map[string]bool{}
	for _, f := range fs {
		for _, m := range f.Status.Measures {
			a, ok := byCode[m.Code]
			if !ok {
				a = &Applied{Code: m.Code, Description: m.Description}
				byCode[m.Code] = a
			}
			a.ImposedBy = append(a.ImposedBy, f.Provider+"/"+f.RecordID)
			if m.Until == "" {
				openEnded[m.Code] = true
			} else if m.Until > a.Until { // ISO dates compare as strings
				a.Until = m.Until
			}
		}
	}
	out := make([]Applied, 0, len(byCode))
	for code, a := range byCode {
		if openEnded[code] {
			a.Until = ""
		}
		slices.Sort(a.ImposedBy)
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Applied) int { return cmp.Compare(a.Code, b.Code) })
	return out
}
