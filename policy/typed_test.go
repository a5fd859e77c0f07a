package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Decide sends Input with TypedKey set, and the policy then skips its type
// checks; DecideRaw checks every field. These tests hold the two paths to
// the same decisions, so the fast path cannot silently diverge from the
// fully checked one.

// typedAsRaw returns in as the raw input DecideRaw takes: its JSON encoding
// decoded again, with nil slices as empty arrays (as Decide sends them). It
// does not use Input.value, so it also holds value to Input's JSON names.
func typedAsRaw(t testing.TB, in Input) map[string]any {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := decodeJSON(b, &raw); err != nil {
		t.Fatal(err)
	}
	var emptyNils func(v any) any
	emptyNils = func(v any) any {
		switch x := v.(type) {
		case nil:
			return []any{} // Input's only nullable fields are slices
		case map[string]any:
			for k, e := range x {
				x[k] = emptyNils(e)
			}
		case []any:
			for i, e := range x {
				x[i] = emptyNils(e)
			}
		}
		return v
	}
	emptyNils(raw)
	return raw
}

// checkTypedMatchesRaw fails the test unless Decide and DecideRaw give the
// same decision for in (all but the decision id).
func checkTypedMatchesRaw(t testing.TB, e *Engine, in Input) {
	t.Helper()
	ctx := context.Background()
	fast, errFast := e.Decide(ctx, in)
	full, errFull := e.DecideRaw(ctx, typedAsRaw(t, in))
	if errFast != nil || errFull != nil {
		t.Fatalf("Decide error %v, DecideRaw error %v", errFast, errFull)
	}
	fast.DecisionID, full.DecisionID = "", ""
	if !reflect.DeepEqual(fast, full) {
		t.Fatalf("input %+v:\nDecide    %+v\nDecideRaw %+v", in, fast, full)
	}
}

// matrixInputs returns one input per role × purpose × level cell (with no
// role, two roles, an unknown or empty purpose and a missing level added),
// for each subject type, without credentials and with a consent and an
// approval covering the category.
func matrixInputs(purposes []string) map[string]Input {
	roleSets := [][]string{{RoleBank}, {RoleBureau}, {RoleDepartment}, {RoleRegistrar}, {RoleRegulator}, nil, {RoleBureau, RoleBank}}
	purposes = append(purposes, "marketing", "")
	levels := []string{LevelPublic, LevelShared, LevelAuthorised, LevelRestricted, LevelNone}
	out := map[string]Input{}
	for _, roles := range roleSets {
		for _, purpose := range purposes {
			for _, level := range levels {
				for _, subject := range []string{"enterprise", "person"} {
					for _, credentialed := range []bool{false, true} {
						in := loanInput()
						in.Requester.Roles = roles
						in.Purpose = purpose
						in.Subject.Type = subject
						in.Categories = []Category{{Name: "registration", Level: level}}
						in.Consent = Consent{}
						if credentialed {
							in.Consent = Consent{Present: true, ID: "consent-1", Requester: in.Requester.ID,
								Purpose: purpose, Categories: []string{"registration"}, UsesLeft: 2}
							in.Approval = Approval{Present: true, ID: "approval-1", Purpose: purpose,
								Categories: []string{"registration"}, Requester: in.Requester.ID, Subject: in.Subject.ID}
						}
						name := fmt.Sprintf("%s/%s/%s/%s/credentialed=%v", strings.Join(roles, "+"), purpose, level, subject, credentialed)
						out[name] = in
					}
				}
			}
		}
	}
	return out
}

// valueMutations are changes to the loan input that keep every type right:
// the typed counterparts of the malformed-input mutations (empty, unknown or
// repeated values), every denial code, and obligation terms.
func valueMutations() map[string]func(*Input) {
	return map[string]func(*Input){
		"unchanged":                func(*Input) {},
		"empty requester id":       func(in *Input) { in.Requester.ID = "" },
		"empty organisation":       func(in *Input) { in.Requester.Organisation = "" },
		"empty requester role":     func(in *Input) { in.Requester.Roles = []string{""} },
		"unknown role":             func(in *Input) { in.Requester.Roles = []string{"lender"} },
		"empty requester region":   func(in *Input) { in.Requester.Jurisdiction = "" },
		"requester abroad":         func(in *Input) { in.Requester.Jurisdiction = "SG" },
		"listed cross-border pair": func(in *Input) { in.Provider.Jurisdiction = "HK" },
		"empty provider id":        func(in *Input) { in.Provider.ID = "" },
		"empty provider region":    func(in *Input) { in.Provider.Jurisdiction = "" },
		"empty subject id":         func(in *Input) { in.Subject.ID = "" },
		"empty subject type":       func(in *Input) { in.Subject.Type = "" },
		"capitalised subject type": func(in *Input) { in.Subject.Type = "Enterprise" },
		"person":                   func(in *Input) { in.Subject.Type = "person" },
		"person, all consented": func(in *Input) {
			in.Subject.Type = "person"
			in.Consent.Categories = append(in.Consent.Categories, "registration")
		},
		"unknown purpose":             func(in *Input) { in.Purpose = "marketing" },
		"empty purpose":               func(in *Input) { in.Purpose = "" },
		"no categories":               func(in *Input) { in.Categories = nil },
		"empty category name":         func(in *Input) { in.Categories[0].Name = "" },
		"unknown category":            func(in *Input) { in.Categories[0].Name = "medical" },
		"repeated category":           func(in *Input) { in.Categories[1] = in.Categories[0] },
		"repeated name, other level":  func(in *Input) { in.Categories[1].Name = in.Categories[0].Name },
		"unknown level":               func(in *Input) { in.Categories[0].Level = "PUBLIC" },
		"provider lacks category":     func(in *Input) { in.Categories[2].Level = LevelNone },
		"shared to a bank":            func(in *Input) { in.Categories[0].Level = LevelShared },
		"restricted, no approval":     func(in *Input) { in.Categories[0].Level = LevelRestricted },
		"category unused by purpose":  func(in *Input) { in.Categories[0].Name = "commitment" },
		"no consent":                  func(in *Input) { in.Consent = Consent{} },
		"consent without id":          func(in *Input) { in.Consent.ID = "" },
		"absent consent with id":      func(in *Input) { in.Consent.Present = false },
		"consent used up":             func(in *Input) { in.Consent.UsesLeft = 0 },
		"consent negative uses":       func(in *Input) { in.Consent.UsesLeft = -1 },
		"consent, other requester":    func(in *Input) { in.Consent.Requester = "node-bank-b" },
		"consent, other purpose":      func(in *Input) { in.Consent.Purpose = "guarantee_review" },
		"consent, one category short": func(in *Input) { in.Consent.Categories = []string{"tax_payment"} },
		"consent, repeated category":  func(in *Input) { in.Consent.Categories = []string{"tax_payment", "tax_payment"} },
		"consent, no categories":      func(in *Input) { in.Consent.Categories = nil },
		"consent terms at the limit": func(in *Input) {
			in.Purpose, in.Consent.Purpose = "guarantee_review", "guarantee_review"
			in.Consent.NotBefore, in.Consent.Expiry, in.Consent.MaxUses = 1_700_000_000, 1_700_000_000+180*86400, 6
		},
		"consent valid too long": func(in *Input) {
			in.Purpose, in.Consent.Purpose = "guarantee_review", "guarantee_review"
			in.Consent.NotBefore, in.Consent.Expiry = 1_700_000_000, 1_700_000_000+180*86400+1
		},
		"consent with too many uses": func(in *Input) {
			in.Purpose, in.Consent.Purpose = "guarantee_review", "guarantee_review"
			in.Consent.MaxUses = 7
		},
		"query limit reached": func(in *Input) {
			in.Purpose, in.Consent.Purpose = "guarantee_review", "guarantee_review"
			in.Usage.QueriesInPeriod = 5
		},
		"data range":          func(in *Input) { in.Consent.DataFrom, in.Consent.DataTo = "2024-01-01", "2025-12-31" },
		"open data range end": func(in *Input) { in.Consent.DataFrom = "2024-01-01" },
		"data range and cap": func(in *Input) {
			in.Purpose, in.Consent.Purpose = "post_loan_management", "post_loan_management"
			in.Consent.DataFrom, in.Consent.DataTo = "2020-01-01", "2026-01-31"
		},
		"data bound not a date":       func(in *Input) { in.Consent.DataFrom = "01/02/2024" },
		"data end not a date":         func(in *Input) { in.Consent.DataTo = "2024-1-1" },
		"approval without id":         func(in *Input) { in.Approval = Approval{Present: true} },
		"absent approval with id":     func(in *Input) { in.Approval = Approval{ID: "approval-1"} },
		"restricted with approval":    func(in *Input) { restricted(in, func(*Approval) {}) },
		"approval, other subject":     func(in *Input) { restricted(in, func(a *Approval) { a.Subject = "91110000100000000X" }) },
		"approval, other requester":   func(in *Input) { restricted(in, func(a *Approval) { a.Requester = "node-other" }) },
		"approval, other purpose":     func(in *Input) { restricted(in, func(a *Approval) { a.Purpose = "guarantee_review" }) },
		"approval, other category":    func(in *Input) { restricted(in, func(a *Approval) { a.Categories = []string{"customs"} }) },
		"approval, everything wrong":  func(in *Input) { restricted(in, func(a *Approval) { *a = Approval{Present: true, ID: "a"} }) },
		"zero time":                   func(in *Input) { in.Time = time.Time{} },
		"time past int64 nanoseconds": func(in *Input) { in.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) },
		"time with nanoseconds":       func(in *Input) { in.Time = in.Time.Add(123456789) },
		"time in another zone":        func(in *Input) { in.Time = in.Time.In(time.FixedZone("CST", 8*3600)) },
		"everything empty":            func(in *Input) { *in = Input{} },
	}
}

// restricted makes the loan input ask for one restricted category under an
// approval, changed by edit.
func restricted(in *Input, edit func(*Approval)) {
	in.Categories = []Category{{Name: "judicial_enforcement", Level: LevelRestricted}}
	in.Approval = Approval{Present: true, ID: "approval-1", Purpose: in.Purpose, Categories: []string{"judicial_enforcement"},
		Requester: in.Requester.ID, Subject: in.Subject.ID}
	edit(&in.Approval)
}

func TestTypedMatchesRawOnMatrix(t *testing.T) {
	e := newEngine(t)
	allows := 0
	for name, in := range matrixInputs(e.Purposes()) {
		t.Run(name, func(t *testing.T) {
			checkTypedMatchesRaw(t, e, in)
		})
		if r, _ := e.Decide(context.Background(), in); r.Allow {
			allows++
		}
	}
	// The matrix must exercise the allow path too, not only denials.
	if allows < 50 {
		t.Errorf("only %d matrix cells allowed", allows)
	}
}

func TestTypedMatchesRawOnValueMutations(t *testing.T) {
	e := newEngine(t)
	codes := map[string]bool{}
	for name, mutate := range valueMutations() {
		t.Run(name, func(t *testing.T) {
			in := loanInput()
			mutate(&in)
			checkTypedMatchesRaw(t, e, in)
			r, _ := e.Decide(context.Background(), in)
			codes[r.Code] = true
		})
	}
	// The mutations reach an allow, malformed input and the other denials.
	for _, want := range []string{"", ReasonMalformedInput, "purpose_unknown", "consent_wrong_category", "approval_wrong_subject", "query_limit_exceeded"} {
		if !codes[want] {
			t.Errorf("no mutation decided with code %q; got %v", want, codes)
		}
	}
}

// FuzzTypedMatchesRaw decodes the fuzz input as an Input and holds Decide to
// DecideRaw on it.
func FuzzTypedMatchesRaw(f *testing.F) {
	for _, mutate := range valueMutations() {
		in := loanInput()
		mutate(&in)
		b, err := json.Marshal(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	e := newEngine(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var in Input
		if json.Unmarshal(b, &in) != nil {
			return
		}
		checkTypedMatchesRaw(t, e, in)
	})
}

// Raw input cannot claim the typed fast path: it would skip the type checks.
func TestRawInputCannotClaimTyped(t *testing.T) {
	e := newEngine(t)
	in := rawLoanInput()
	in[TypedKey] = true
	if r, err := e.DecideRaw(context.Background(), in); err == nil {
		t.Fatalf("DecideRaw with %q = %+v, want an error", TypedKey, r)
	}
	if ex, err := e.Explain(context.Background(), in); err == nil {
		t.Fatalf("Explain with %q = %+v, want an error", TypedKey, ex.Result)
	}
	// Even false is refused: the key is Decide's alone.
	in[TypedKey] = false
	if _, err := e.DecideRaw(context.Background(), in); err == nil {
		t.Fatal("DecideRaw accepted the reserved key set to false")
	}
}
