package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// GradingQuery is the grading decision: package creditnode.grading, compiled
// alongside the authorisation policy and shipped in the same bundle (data
// root "creditnode"; its tables live in data.creditnode.config.grading).
const GradingQuery = "data.creditnode.grading.result"

// Grades, best to worst.
const (
	GradeA = "A"
	GradeB = "B"
	GradeC = "C"
	GradeD = "D"
)

var (
	// ErrNoGrading is returned by Grade when the policy in force defines no
	// grading rules (a bundle without grading.rego).
	ErrNoGrading = errors.New("policy: the policy defines no grading rules")

	// ErrNoGrade is returned by Grade when the grading result is undefined
	// (malformed facts) or not a well-formed grade. The caller must not
	// guess a grade.
	ErrNoGrade = errors.New("policy: no grade")
)

// GradingInput is what the grading rules see: facts about one subject, one
// entry per record, with no record content beyond what a rule needs.
type GradingInput struct {
	Subject string `json:"subject"`
	AsOf    string `json:"as_of"` // YYYY-MM-DD: the day the grade is for
	// Penalties are the administrative penalties still provided (5-year rule).
	Penalties []PenaltyFact `json:"penalties"`
	// ListEntries are untrustworthy_list entries, InForce on AsOf.
	ListEntries []StateFact `json:"list_entries"`
	// AbnormalOperations are abnormal-operation listings, InForce on AsOf.
	AbnormalOperations []StateFact `json:"abnormal_operations"`
	// Commitments are credit commitments, Overdue on AsOf.
	Commitments []CommitmentFact `json:"commitments"`
	// Tax holds the tax credit grade per year ("" when not assessed).
	Tax []TaxFact `json:"tax"`
}

// normalised replaces nil lists by empty ones: the rules treat a missing
// list as malformed, not as "nothing found".
func (in GradingInput) normalised() GradingInput {
	if in.Penalties == nil {
		in.Penalties = []PenaltyFact{}
	}
	if in.ListEntries == nil {
		in.ListEntries = []StateFact{}
	}
	if in.AbnormalOperations == nil {
		in.AbnormalOperations = []StateFact{}
	}
	if in.Commitments == nil {
		in.Commitments = []CommitmentFact{}
	}
	if in.Tax == nil {
		in.Tax = []TaxFact{}
	}
	return in
}

// PenaltyFact is one administrative penalty decision.
type PenaltyFact struct {
	Ref          string  `json:"ref"` // provider/record id
	DecisionDate string  `json:"decision_date"`
	Penalty      string  `json:"penalty"`
	Amount       float64 `json:"amount"`
}

// StateFact is a listing, in force or not on the grading day.
type StateFact struct {
	Ref     string `json:"ref"`
	InForce bool   `json:"in_force"`
}

// CommitmentFact is a credit commitment, overdue or not on the grading day.
type CommitmentFact struct {
	Ref     string `json:"ref"`
	Overdue bool   `json:"overdue"`
}

// TaxFact is one year's tax credit grade.
type TaxFact struct {
	Ref            string `json:"ref"`
	Year           int    `json:"year"`
	TaxCreditGrade string `json:"tax_credit_grade"`
}

// Grading is a grade with its reasons and the inspection regime it implies.
type Grading struct {
	Grade      string           `json:"grade"`
	Reasons    []GradeReason    `json:"reasons"` // the rules that fired, by code
	Facts      map[string]int64 `json:"facts"`   // the counts the rules compared
	Inspection Inspection       `json:"inspection"`
	Revision   string           `json:"policy_revision"`
}

// GradeReason is one rule that fired.
type GradeReason struct {
	Code  string `json:"code"`
	Grade string `json:"grade"`
	Count int64  `json:"count"`
}

// Inspection is the "double random, one public" regime for a grade.
type Inspection struct {
	RatioPercent   float64 `json:"ratio_percent"`
	Frequency      string  `json:"frequency"`
	KeySupervision bool    `json:"key_supervision"`
}

// prepareGrading prepares the grading query if the modules define it; a nil
// query means the policy has no grading rules.
func prepareGrading(ctx context.Context, compiler *ast.Compiler, store storage.Store, caps *ast.Capabilities) (*rego.PreparedEvalQuery, error) {
	if len(compiler.GetRules(ast.MustParseRef(GradingQuery))) == 0 {
		return nil, nil
	}
	q, err := rego.New(
		rego.Query(GradingQuery),
		rego.Compiler(compiler),
		rego.Store(store),
		rego.Capabilities(caps),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: prepare grading: %w", ErrInvalidPolicy, err)
	}
	return &q, nil
}

// Grade evaluates the grading rules for in.
func (e *Engine) Grade(ctx context.Context, in GradingInput) (Grading, error) {
	if e.grading == nil {
		return Grading{}, ErrNoGrading
	}
	if err := ctx.Err(); err != nil {
		return Grading{}, fmt.Errorf("policy: grade: %w", err)
	}
	in = in.normalised()
	raw, err := json.Marshal(in)
	if err != nil {
		return Grading{}, fmt.Errorf("policy: grade: %w", err)
	}
	v, err := ast.ValueFromReader(bytes.NewReader(raw))
	if err != nil {
		return Grading{}, fmt.Errorf("policy: grade: %w", err)
	}
	rs, err := e.grading.Eval(ctx, rego.EvalParsedInput(v))
	if err != nil {
		return Grading{}, fmt.Errorf("policy: grade: %w", err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return Grading{}, fmt.Errorf("%w: %s is undefined", ErrNoGrade, GradingQuery)
	}
	out, err := json.Marshal(rs[0].Expressions[0].Value)
	if err != nil {
		return Grading{}, fmt.Errorf("%w: %w", ErrNoGrade, err)
	}
	var g Grading
	if err := json.Unmarshal(out, &g); err != nil {
		return Grading{}, fmt.Errorf("%w: %w", ErrNoGrade, err)
	}
	switch g.Grade {
	case GradeA, GradeB, GradeC, GradeD:
	default:
		return Grading{}, fmt.Errorf("%w: grade %q", ErrNoGrade, g.Grade)
	}
	if g.Inspection.Frequency == "" {
		return Grading{}, fmt.Errorf("%w: no inspection regime for grade %s", ErrNoGrade, g.Grade)
	}
	g.Revision = e.revision
	return g, nil
}

// Grade evaluates the grading rules of the engine in force.
func (h *Holder) Grade(ctx context.Context, in GradingInput) (Grading, error) {
	e := h.cur.Load()
	if e == nil {
		return Grading{}, ErrNoEngine
	}
	return e.Grade(ctx, in)
}
