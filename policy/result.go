package policy

import (
	"encoding/json"
	"fmt"

	"github.com/creditexchange/node/schemas"
)

// Result is one policy decision.
type Result struct {
	Allow bool
	// Code is the most relevant denial code ("" when allowed): a wire code
	// from package schemas, or "malformed_input" / "policy_denied".
	Code string
	// Reasons are stable reason codes, sorted: the denial codes when denied,
	// descriptive grants (level_public, consent_covers, …) when allowed.
	Reasons []string
	// Fields maps each allowed category to the gjson paths that may leave.
	// Nil when denied.
	Fields map[string][]string
	// Obligations the caller must honour, e.g. "retention_days" (int64),
	// "retain_until" (RFC 3339), "consume_consent" (consent id to spend one
	// use of). Numbers are int64 when integral, else float64.
	Obligations map[string]any
	Revision    string // policy revision (Engine.Revision)
	DecisionID  string // 128 random bits, hex
}

// Reason codes the policy uses that are not wire codes.
const (
	ReasonMalformedInput = "malformed_input" // input missing, null or wrongly typed
	ReasonPolicyDenied   = "policy_denied"   // no rule decided: deny by default
)

// WireCode maps Code to the wire code to send: malformed input is a
// malformed request, anything else not defined in schemas is policy_denied.
func (r Result) WireCode() schemas.Code {
	switch c := schemas.Code(r.Code); {
	case r.Allow:
		return ""
	case r.Code == ReasonMalformedInput:
		return schemas.CodeMalformedRequest
	case c.Known():
		return c
	default:
		return schemas.CodePolicyDenied
	}
}

// Decision returns the result as it travels in responses and logs.
func (r Result) Decision() schemas.Decision {
	return schemas.Decision{
		ID:             r.DecisionID,
		PolicyRevision: r.Revision,
		Allow:          r.Allow,
		Reasons:        r.Reasons,
		Obligations:    r.Obligations,
		Fields:         r.Fields,
	}
}

// decodeDecision checks and converts the query's value. Anything not shaped
// like a decision is ErrNoDecision: the caller fails closed.
func decodeDecision(v any) (Result, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Result{}, fmt.Errorf("%w: decision is %T, not an object", ErrNoDecision, v)
	}
	var r Result
	if r.Allow, ok = m["allow"].(bool); !ok {
		return Result{}, fmt.Errorf("%w: decision has no boolean allow", ErrNoDecision)
	}
	reasons, err := stringList(m["reasons"])
	if err != nil {
		return Result{}, fmt.Errorf("%w: reasons: %w", ErrNoDecision, err)
	}
	r.Reasons = reasons
	if r.Obligations, err = obligations(m["obligations"]); err != nil {
		return Result{}, err
	}
	if !r.Allow {
		if r.Code, ok = m["code"].(string); !ok || r.Code == "" {
			return Result{}, fmt.Errorf("%w: deny without a code", ErrNoDecision)
		}
		return r, nil
	}
	fields, ok := m["fields"].(map[string]any)
	if !ok || len(fields) == 0 {
		return Result{}, fmt.Errorf("%w: allow without fields", ErrNoDecision)
	}
	r.Fields = make(map[string][]string, len(fields))
	for cat, paths := range fields {
		if r.Fields[cat], err = stringList(paths); err != nil {
			return Result{}, fmt.Errorf("%w: fields[%s]: %w", ErrNoDecision, cat, err)
		}
	}
	return r, nil
}

func stringList(v any) ([]string, error) {
	xs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%T is not a list", v)
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		if out[i], ok = x.(string); !ok {
			return nil, fmt.Errorf("element %d is %T, not a string", i, x)
		}
	}
	return out, nil
}

func obligations(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: obligations is %T, not an object", ErrNoDecision, v)
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = plainNumbers(x)
	}
	return out, nil
}

// plainNumbers turns the json.Number values OPA returns into int64 or
// float64, recursively.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainNumbers(e)
		}
		return out
	default:
		return v
	}
}
