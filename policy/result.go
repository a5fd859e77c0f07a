package policy

import (
	"fmt"

	"github.com/creditexchange/node/schemas"
	"github.com/open-policy-agent/opa/v1/ast"
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
func decodeDecision(v ast.Value) (Result, error) {
	m, ok := v.(ast.Object)
	if !ok {
		return Result{}, fmt.Errorf("%w: decision is %s, not an object", ErrNoDecision, ast.ValueName(v))
	}
	var r Result
	allow, ok := field(m, kAllow).(ast.Boolean)
	if !ok {
		return Result{}, fmt.Errorf("%w: decision has no boolean allow", ErrNoDecision)
	}
	r.Allow = bool(allow)
	reasons, err := stringList(field(m, kReasons))
	if err != nil {
		return Result{}, fmt.Errorf("%w: reasons: %w", ErrNoDecision, err)
	}
	r.Reasons = reasons
	if r.Obligations, err = obligations(field(m, kObligations)); err != nil {
		return Result{}, err
	}
	if !r.Allow {
		code, ok := field(m, kCode).(ast.String)
		if !ok || code == "" {
			return Result{}, fmt.Errorf("%w: deny without a code", ErrNoDecision)
		}
		r.Code = string(code)
		return r, nil
	}
	fields, ok := field(m, kFields).(ast.Object)
	if !ok || fields.Len() == 0 {
		return Result{}, fmt.Errorf("%w: allow without fields", ErrNoDecision)
	}
	r.Fields = make(map[string][]string, fields.Len())
	err = fields.Iter(func(k, paths *ast.Term) error {
		cat, ok := k.Value.(ast.String)
		if !ok {
			return fmt.Errorf("%w: fields key %s is not a string", ErrNoDecision, k)
		}
		list, err := stringList(paths.Value)
		if err != nil {
			return fmt.Errorf("%w: fields[%s]: %w", ErrNoDecision, cat, err)
		}
		r.Fields[string(cat)] = list
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return r, nil
}

// Keys of the decision object.
var (
	kAllow       = ast.StringTerm("allow")
	kCode        = ast.StringTerm("code")
	kReasons     = ast.StringTerm("reasons")
	kFields      = ast.StringTerm("fields")
	kObligations = ast.StringTerm("obligations")
)

// field returns the value at key in m, or nil.
func field(m ast.Object, key *ast.Term) ast.Value {
	if t := m.Get(key); t != nil {
		return t.Value
	}
	return nil
}

func stringList(v ast.Value) ([]string, error) {
	xs, ok := v.(*ast.Array)
	if !ok {
		return nil, fmt.Errorf("%s is not a list", valueName(v))
	}
	out := make([]string, xs.Len())
	for i := range out {
		s, ok := xs.Elem(i).Value.(ast.String)
		if !ok {
			return nil, fmt.Errorf("element %d is %s, not a string", i, ast.ValueName(xs.Elem(i).Value))
		}
		out[i] = string(s)
	}
	return out, nil
}

func obligations(v ast.Value) (map[string]any, error) {
	m, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%w: obligations is %s, not an object", ErrNoDecision, valueName(v))
	}
	out := make(map[string]any, m.Len())
	err := m.Iter(func(k, x *ast.Term) error {
		key, ok := k.Value.(ast.String)
		if !ok {
			return fmt.Errorf("%w: obligations key %s is not a string", ErrNoDecision, k)
		}
		out[string(key)] = plain(x.Value)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// plain converts an AST value to plain Go values: numbers become int64 when
// integral, else float64; strings, booleans, null, arrays and objects
// (string keys) the usual way; a set becomes a sorted list.
func plain(v ast.Value) any {
	switch x := v.(type) {
	case ast.Null:
		return nil
	case ast.Boolean:
		return bool(x)
	case ast.String:
		return string(x)
	case ast.Number:
		if i, ok := x.Int64(); ok {
			return i
		}
		if f, ok := x.Float64(); ok {
			return f
		}
		return x.String()
	case *ast.Array:
		out := make([]any, x.Len())
		for i := range out {
			out[i] = plain(x.Elem(i).Value)
		}
		return out
	case ast.Set:
		return plain(x.Sorted())
	case ast.Object:
		out := make(map[string]any, x.Len())
		x.Foreach(func(k, e *ast.Term) {
			if s, ok := k.Value.(ast.String); ok {
				out[string(s)] = plain(e.Value)
			} else {
				out[k.String()] = plain(e.Value)
			}
		})
		return out
	default:
		return v.String()
	}
}

// valueName names the type of v for errors; v may be nil (key absent).
func valueName(v ast.Value) string {
	if v == nil {
		return "absent"
	}
	return ast.ValueName(v)
}
