package policy

import (
	"context"
	"slices"
	"testing"
)

func TestExplainNamesFiredRules(t *testing.T) {
	e := newEngine(t)
	ex, err := e.Explain(context.Background(), rawLoanInput())
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Result.Allow {
		t.Fatalf("want allow, got %+v", ex.Result)
	}
	names := map[string]bool{}
	for _, f := range ex.Fired {
		names[f.Rule] = true
	}
	for _, want := range []string{"allow", "well_formed", "role_permitted", "decision"} {
		if !names[want] {
			t.Errorf("rule %q not reported as fired; got %v", want, ex.Fired)
		}
	}
	in := rawLoanInput()
	delete(in, "consent")
	ex, err = e.Explain(context.Background(), in)
	if err != nil || ex.Result.Allow || ex.Result.Code != ReasonMalformedInput {
		t.Fatalf("malformed: %+v %v", ex.Result, err)
	}
	if slices.ContainsFunc(ex.Fired, func(f Fired) bool { return f.Rule == "allow" }) {
		t.Error("allow reported as fired on a deny")
	}
}
