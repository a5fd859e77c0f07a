package policy

import (
	"context"
	"errors"
	"testing"
)

func TestGradeFromGo(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()

	// Nil lists are "nothing found", not malformed.
	g, err := e.Grade(ctx, GradingInput{Subject: "91350100M000100Y43", AsOf: "2025-06-30"})
	if err != nil {
		t.Fatalf("Grade(clean): %v", err)
	}
	if g.Grade != GradeA || len(g.Reasons) != 0 || g.Inspection.RatioPercent != 3 || g.Revision != e.Revision() {
		t.Fatalf("clean subject: %+v", g)
	}

	g, err = e.Grade(ctx, GradingInput{
		Subject: "91350100M000100Y43", AsOf: "2025-06-30",
		Penalties:   []PenaltyFact{{Ref: "m/1", DecisionDate: "2025-05-01", Penalty: "fine", Amount: 500}},
		ListEntries: []StateFact{{Ref: "m/2", InForce: true}},
	})
	if err != nil {
		t.Fatalf("Grade(listed): %v", err)
	}
	if g.Grade != GradeD || !g.Inspection.KeySupervision || len(g.Reasons) != 2 ||
		g.Reasons[0].Code != "penalty_recent" || g.Reasons[1].Code != "untrustworthy_listed" {
		t.Fatalf("listed subject: %+v", g)
	}
	if g.Facts["penalties_recent"] != 1 || g.Facts["list_entries_in_force"] != 1 {
		t.Fatalf("facts: %v", g.Facts)
	}
}

func TestGradeRefusesMalformedFacts(t *testing.T) {
	e := newEngine(t)
	for name, in := range map[string]GradingInput{
		"no subject":   {AsOf: "2025-06-30"},
		"bad as_of":    {Subject: "S", AsOf: "30.06.2025"},
		"bad date":     {Subject: "S", AsOf: "2025-06-30", Penalties: []PenaltyFact{{DecisionDate: "soon", Penalty: "fine"}}},
		"bad taxgrade": {Subject: "S", AsOf: "2025-06-30", Tax: []TaxFact{{Year: 2024, TaxCreditGrade: "Z"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.Grade(context.Background(), in); !errors.Is(err, ErrNoGrade) {
				t.Fatalf("err = %v, want ErrNoGrade", err)
			}
		})
	}
}

func TestGradeWithoutGradingRules(t *testing.T) {
	// An authz-only policy (a bundle without grading.rego) still decides
	// queries but refuses to grade.
	e, err := New(context.Background(), Options{Modules: map[string]string{"grading.rego": "package creditnode.other\n\nx := 1\n"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := e.Grade(context.Background(), GradingInput{Subject: "S", AsOf: "2025-06-30"}); !errors.Is(err, ErrNoGrading) {
		t.Fatalf("err = %v, want ErrNoGrading", err)
	}
	if _, err := (&Holder{}).Grade(context.Background(), GradingInput{}); !errors.Is(err, ErrNoEngine) {
		t.Fatalf("empty holder: %v", err)
	}
}
