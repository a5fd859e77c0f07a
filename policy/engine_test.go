package policy

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/creditexchange/node/schemas"
)

func TestDecideAllowsLoanApproval(t *testing.T) {
	e := newEngine(t)
	r, err := e.Decide(context.Background(), loanInput())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Allow || r.Code != "" {
		t.Fatalf("want allow without code, got %+v", r)
	}
	if want := []string{"consent_covers", "level_public", "purpose_permitted"}; !slices.Equal(r.Reasons, want) {
		t.Errorf("reasons = %v, want %v", r.Reasons, want)
	}
	wantFields := map[string][]string{
		"registration":     {"name", "legal_representative", "registered_capital", "established", "status", "address", "industry"},
		"tax_payment":      {"year", "tax_paid", "tax_credit_grade", "arrears"},
		"social_insurance": {"month", "insured_headcount", "arrears"},
	}
	if !maps.EqualFunc(r.Fields, wantFields, slices.Equal) {
		t.Errorf("fields = %v, want %v", r.Fields, wantFields)
	}
	if got := r.Obligations["retention_days"]; got != int64(1825) {
		t.Errorf("retention_days = %#v, want int64 1825", got)
	}
	if got := r.Obligations["consume_consent"]; got != "consent-1" {
		t.Errorf("consume_consent = %#v", got)
	}
	if got := r.Obligations["retain_until"]; got != "2031-02-28T10:00:00Z" {
		t.Errorf("retain_until = %#v", got)
	}
	if r.WireCode() != "" {
		t.Errorf("WireCode of an allow = %q", r.WireCode())
	}
	d := r.Decision()
	if d.ID != r.DecisionID || d.PolicyRevision != e.Revision() || !d.Allow {
		t.Errorf("Decision() = %+v", d)
	}
}

func TestDecideDenials(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		name   string
		mutate func(*Input)
		code   schemas.Code
	}{
		{"no consent", func(in *Input) { in.Consent = Consent{} }, schemas.CodeConsentMissing},
		{"consent for another purpose", func(in *Input) { in.Consent.Purpose = "guarantee_review" }, schemas.CodeConsentWrongPurpose},
		{"consent for another requester", func(in *Input) { in.Consent.Requester = "node-bank-b" }, schemas.CodeConsentWrongRequester},
		{"consent missing a category", func(in *Input) { in.Consent.Categories = []string{"tax_payment"} }, schemas.CodeConsentWrongCategory},
		{"consent used up", func(in *Input) { in.Consent.UsesLeft = 0 }, schemas.CodeConsentExhausted},
		{"unknown purpose", func(in *Input) { in.Purpose = "marketing" }, schemas.CodePurposeUnknown},
		{"department asks for loan approval", func(in *Input) { in.Requester.Roles = []string{RoleDepartment} }, schemas.CodePurposeNotPermitted},
		{"no roles", func(in *Input) { in.Requester.Roles = nil }, schemas.CodePurposeNotPermitted},
		{"abroad", func(in *Input) { in.Requester.Jurisdiction = "SG" }, schemas.CodeJurisdiction},
		{"provider lacks category", func(in *Input) { in.Categories[2].Level = LevelNone }, schemas.CodeCategoryUnknown},
		{"restricted without approval", func(in *Input) { in.Categories[0].Level = LevelRestricted }, schemas.CodeApprovalMissing},
		{"shared to a bank", func(in *Input) { in.Categories[0].Level = LevelShared }, schemas.CodeLevelNotPermitted},
		{"person without consent", func(in *Input) {
			in.Subject.Type = schemas.SubjectPerson
			in.Categories = in.Categories[:1]
			in.Consent = Consent{}
		}, schemas.CodeConsentMissing},
		{"no categories", func(in *Input) { in.Categories = nil }, schemas.CodeMalformedRequest},
		{"zero time", func(in *Input) { in.Time = in.Time.AddDate(-2025, 0, 0) }, schemas.CodeMalformedRequest},
		{"unknown subject type", func(in *Input) { in.Subject.Type = "robot" }, schemas.CodeMalformedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loanInput()
			tt.mutate(&in)
			r, err := e.Decide(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Allow || r.WireCode() != tt.code {
				t.Fatalf("got allow=%v code=%q (wire %q) reasons=%v, want deny %q", r.Allow, r.Code, r.WireCode(), r.Reasons, tt.code)
			}
			if r.Fields != nil {
				t.Errorf("deny carries fields %v", r.Fields)
			}
			if !slices.Contains(r.Reasons, r.Code) || !slices.IsSorted(r.Reasons) {
				t.Errorf("reasons %v: want sorted and containing %q", r.Reasons, r.Code)
			}
		})
	}
}

func TestDecisionIDsAreRandom128Bit(t *testing.T) {
	e := newEngine(t)
	seen := map[string]bool{}
	for range 50 {
		r, err := e.Decide(context.Background(), loanInput())
		if err != nil {
			t.Fatal(err)
		}
		if b, err := hex.DecodeString(r.DecisionID); err != nil || len(b) != 16 {
			t.Fatalf("DecisionID %q is not 128-bit hex", r.DecisionID)
		}
		if seen[r.DecisionID] {
			t.Fatalf("DecisionID %q repeated", r.DecisionID)
		}
		seen[r.DecisionID] = true
	}
}

func TestPurposes(t *testing.T) {
	want := []string{
		"administrative_supervision", "guarantee_review", "joint_modeling", "joint_punishment_check",
		"judicial_enforcement", "licensing_review", "loan_approval", "post_loan_management",
		"procurement_review", "self_query",
	}
	e := newEngine(t)
	got := e.Purposes()
	if !slices.Equal(got, want) {
		t.Fatalf("Purposes() = %v, want %v", got, want)
	}
	got[0] = "mutated"
	if e.Purposes()[0] != want[0] {
		t.Error("Purposes() exposes internal state")
	}
}

// embeddedData returns the embedded data document, freshly decoded.
func embeddedData(t *testing.T) map[string]any {
	t.Helper()
	raw, err := embedded.ReadFile("rego/data.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := decodeData(raw)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// config returns data.creditnode.config of doc.
func config(doc map[string]any) map[string]any {
	return doc["creditnode"].(map[string]any)["config"].(map[string]any)
}

func TestRevision(t *testing.T) {
	ctx := context.Background()
	a, b := newEngine(t), newEngine(t)
	if a.Revision() != b.Revision() || !strings.HasPrefix(a.Revision(), "sha256:") || len(a.Revision()) != len("sha256:")+64 {
		t.Fatalf("revisions %q and %q: want equal sha256:<64 hex>", a.Revision(), b.Revision())
	}
	same, err := New(ctx, Options{Data: embeddedData(t)})
	if err != nil {
		t.Fatal(err)
	}
	if same.Revision() != a.Revision() {
		t.Errorf("same data given as Options.Data changed the revision")
	}

	doc := embeddedData(t)
	config(doc)["negative_info_years"] = 6
	changedData, err := New(ctx, Options{Data: doc})
	if err != nil {
		t.Fatal(err)
	}
	extraModule, err := New(ctx, Options{Modules: map[string]string{"extra.rego": "package creditnode.extra\n\nx := 1\n"}})
	if err != nil {
		t.Fatal(err)
	}
	extraTest, err := New(ctx, Options{Modules: map[string]string{"extra_test.rego": "package creditnode.extra_test\n\ntest_x if true\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if changedData.Revision() == a.Revision() || extraModule.Revision() == a.Revision() {
		t.Error("a change of data or modules kept the revision")
	}
	if extraTest.Revision() != a.Revision() {
		t.Error("a test module changed the decision revision")
	}
}

func TestNewRejectsBadPolicies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts Options
	}{
		{"no purposes in data", Options{Data: map[string]any{"creditnode": map[string]any{}}}},
		{"syntax error", Options{Modules: map[string]string{"authz.rego": "package creditnode.authz\n\ndecision := {"}}},
		{"no decision rule", Options{Modules: map[string]string{"authz.rego": "package creditnode.authz\n\nallow := false\n"}}},
		{"rego v0 syntax", Options{Modules: map[string]string{"old.rego": "package creditnode.old\n\nallow { true }\n"}}},
		{"strict: unused variable", Options{Modules: map[string]string{"x.rego": "package creditnode.x\n\np if { x := 1; true }\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(ctx, tt.opts)
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("New = %v, %v; want ErrInvalidPolicy", e, err)
			}
		})
	}
}

// A decision that is undefined, or not shaped like a decision, is an error,
// never an allow.
func TestNoDecisionIsError(t *testing.T) {
	ctx := context.Background()
	for name, src := range map[string]string{
		"undefined":    "package creditnode.authz\n\ndecision := {\"allow\": true} if input.never\n",
		"not object":   "package creditnode.authz\n\ndecision := true\n",
		"allow string": "package creditnode.authz\n\ndecision := {\"allow\": \"yes\", \"reasons\": [], \"obligations\": {}}\n",
		"no fields":    "package creditnode.authz\n\ndecision := {\"allow\": true, \"reasons\": [], \"obligations\": {}}\n",
		"no code":      "package creditnode.authz\n\ndecision := {\"allow\": false, \"reasons\": [], \"obligations\": {}}\n",
	} {
		t.Run(name, func(t *testing.T) {
			e, err := New(ctx, Options{Modules: map[string]string{"authz.rego": src}})
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.Decide(ctx, loanInput())
			if !errors.Is(err, ErrNoDecision) {
				t.Fatalf("Decide = %+v, %v; want ErrNoDecision", r, err)
			}
			if r.Allow {
				t.Fatal("error result allows")
			}
		})
	}
}

func TestDecideCancelledContext(t *testing.T) {
	e := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Decide(ctx, loanInput()); err == nil {
		t.Fatal("Decide with a cancelled context succeeded")
	}
}

func TestConcurrentDecide(t *testing.T) {
	e := newEngine(t)
	deny := loanInput()
	deny.Consent.Purpose = "guarantee_review"
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				in, want := loanInput(), true
				if (g+i)%2 == 0 {
					in, want = deny, false
				}
				r, err := e.Decide(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				if r.Allow != want {
					errs <- errors.New("concurrent decision differs")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The Rego suite must be able to fail: loosen the data and it does.
func TestRegoTestsCatchPolicyChanges(t *testing.T) {
	ctx := context.Background()
	tests := map[string]func(cfg map[string]any){
		"bank may supervise": func(cfg map[string]any) {
			p := cfg["purposes"].(map[string]any)["administrative_supervision"].(map[string]any)
			p["roles"] = append(p["roles"].([]any), "bank")
		},
		"declared revenue to lenders": func(cfg map[string]any) {
			f := cfg["fields"].(map[string]any)["loan_approval"].(map[string]any)
			f["tax_payment"] = append(f["tax_payment"].([]any), "declared_revenue")
		},
		"banks get shared data": func(cfg map[string]any) {
			cfg["shared_roles"] = append(cfg["shared_roles"].([]any), "bank")
			p := cfg["purposes"].(map[string]any)["loan_approval"].(map[string]any)
			p["statutory"] = true
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			doc := embeddedData(t)
			mutate(config(doc))
			e, err := New(ctx, Options{Data: doc})
			if err != nil {
				t.Fatal(err)
			}
			passed, failed, err := e.RunTests(ctx, io.Discard, false)
			if err != nil {
				t.Fatal(err)
			}
			if failed == 0 {
				t.Errorf("Rego tests all passed (%d) against loosened data", passed)
			}
		})
	}
}
