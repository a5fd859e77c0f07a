package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Fired is a rule that succeeded while deciding: its name and where it is.
type Fired struct {
	Rule     string // e.g. "checks", "grant", "allow"
	Location string // file:line
}

// Explanation is a decision with the rules that produced it.
type Explanation struct {
	Result Result
	Fired  []Fired // in the order first exited, each rule body once
}

// Explain decides like DecideRaw and records, with OPA's tracer, every rule
// body of the policy that succeeded. It is slow (tracing) and meant for
// tools, not the request path.
func (e *Engine) Explain(ctx context.Context, input any) (Explanation, error) {
	v, err := rawValue(input)
	if err != nil {
		return Explanation{}, err
	}
	tracer := topdown.NewBufferTracer()
	r, err := e.eval(ctx, v, tracer)
	if err != nil {
		return Explanation{}, err
	}
	return Explanation{Result: r, Fired: fired(*tracer)}, nil
}

// fired lists rule bodies that exited (succeeded), once each.
func fired(events []*topdown.Event) []Fired {
	var out []Fired
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Op != topdown.ExitOp {
			continue
		}
		rule, ok := ev.Node.(*ast.Rule)
		if !ok || rule.Location == nil {
			continue
		}
		name := strings.TrimPrefix(rule.Head.Ref().String(), "data.creditnode.authz.")
		loc := fmt.Sprintf("%s:%d", rule.Location.File, rule.Location.Row)
		if seen[loc] {
			continue
		}
		seen[loc] = true
		out = append(out, Fired{Rule: name, Location: loc})
	}
	return slices.Clip(out)
}
