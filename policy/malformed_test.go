package policy

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
)

// mutation is one change to a valid raw input.
type mutation struct {
	name  string
	apply func(map[string]any) any // returns the whole new input
}

// replacementKinds are the wrong values tried at every path; one of the
// same kind as the original value is skipped, since it is not a wrong type.
func replacementKinds() []struct {
	name  string
	value func() any
} {
	return []struct {
		name  string
		value func() any
	}{
		{"null", func() any { return nil }},
		{"number", func() any { return 7 }},
		{"string", func() any { return "x" }},
		{"bool", func() any { return true }},
		{"array", func() any { return []any{} }},
		{"object", func() any { return map[string]any{} }},
	}
}

// mutations walks a valid input and returns, for every key and array element
// at any depth, its deletion (keys only) and its replacement by a value of
// each other JSON type.
func mutations(input map[string]any) []mutation {
	var out []mutation
	var walk func(path []any, v any)
	walk = func(path []any, v any) {
		if len(path) > 0 {
			if _, isKey := path[len(path)-1].(string); isKey {
				out = append(out, mutation{fmt.Sprint(path, " deleted"), func(in map[string]any) any {
					return edit(in, path, nil, true)
				}})
			}
			for _, r := range replacementKinds() {
				if sameKind(v, r.value()) {
					continue
				}
				out = append(out, mutation{fmt.Sprint(path, " ", r.name), func(in map[string]any) any {
					return edit(in, path, r.value(), false)
				}})
			}
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(append(slices.Clip(path), k), x[k])
			}
		case []any:
			for i, e := range x {
				walk(append(slices.Clip(path), i), e)
			}
		}
	}
	walk(nil, input)
	return out
}

func sameKind(a, b any) bool {
	num := func(v any) bool {
		switch v.(type) {
		case int, int64, float64:
			return true
		}
		return false
	}
	if num(a) || num(b) {
		return num(a) && num(b)
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b)
}

// edit returns a deep copy of in with the value at path replaced or deleted.
func edit(in map[string]any, path []any, v any, del bool) any {
	root := deepCopy(in)
	var parent any = root
	for _, p := range path[:len(path)-1] {
		switch k := p.(type) {
		case string:
			parent = parent.(map[string]any)[k]
		case int:
			parent = parent.([]any)[k]
		}
	}
	switch k := path[len(path)-1].(type) {
	case string:
		if del {
			delete(parent.(map[string]any), k)
		} else {
			parent.(map[string]any)[k] = v
		}
	case int:
		parent.([]any)[k] = v
	}
	return root
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

// Every missing, null or wrongly typed field gives a defined deny with code
// malformed_input (threats.md item 15), never an error or an allow.
func TestMalformedInputIsDenied(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()

	valid := rawLoanInput()
	control, err := e.DecideRaw(ctx, valid)
	if err != nil || !control.Allow {
		t.Fatalf("control input: %+v, %v; want allow", control, err)
	}

	ms := mutations(valid)
	if len(ms) < 150 {
		t.Fatalf("only %d mutations generated", len(ms))
	}
	for _, m := range ms {
		t.Run(m.name, func(t *testing.T) {
			r, err := e.DecideRaw(ctx, m.apply(rawLoanInput()))
			if err != nil {
				t.Fatalf("error instead of a deny: %v", err)
			}
			if r.Allow || r.Code != ReasonMalformedInput {
				t.Fatalf("got allow=%v code=%q reasons=%v, want deny malformed_input", r.Allow, r.Code, r.Reasons)
			}
		})
	}
}

func TestMalformedWholeInput(t *testing.T) {
	e := newEngine(t)
	for _, in := range []any{nil, 42, "loan", true, []any{}, map[string]any{}, []any{rawLoanInput()}} {
		t.Run(fmt.Sprintf("%T", in), func(t *testing.T) {
			r, err := e.DecideRaw(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Allow || r.Code != ReasonMalformedInput {
				t.Fatalf("got %+v, want deny malformed_input", r)
			}
		})
	}
}

// Invalid values of the right type are malformed too.
func TestMalformedValues(t *testing.T) {
	e := newEngine(t)
	tests := map[string]func(in map[string]any){
		"empty requester id": func(in map[string]any) { in["requester"].(map[string]any)["id"] = "" },
		"empty subject id":   func(in map[string]any) { in["subject"].(map[string]any)["id"] = "" },
		"empty provider":     func(in map[string]any) { in["provider"].(map[string]any)["jurisdiction"] = "" },
		"subject type":       func(in map[string]any) { in["subject"].(map[string]any)["type"] = "Enterprise" },
		"level":              func(in map[string]any) { in["categories"].([]any)[0].(map[string]any)["level"] = "PUBLIC" },
		"empty category":     func(in map[string]any) { in["categories"].([]any)[0].(map[string]any)["name"] = "" },
		"no categories":      func(in map[string]any) { in["categories"] = []any{} },
		"duplicate category": func(in map[string]any) { in["categories"].([]any)[1] = in["categories"].([]any)[0] },
		"consent without id": func(in map[string]any) { in["consent"].(map[string]any)["id"] = "" },
		"time not RFC 3339":  func(in map[string]any) { in["time"] = "2026-03-01 10:00:00" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			in := rawLoanInput()
			mutate(in)
			r, err := e.DecideRaw(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Allow || r.Code != ReasonMalformedInput {
				t.Fatalf("got allow=%v code=%q, want deny malformed_input", r.Allow, r.Code)
			}
		})
	}
}

// Unknown extra fields are ignored, not a reason to deny.
func TestExtraFieldsIgnored(t *testing.T) {
	e := newEngine(t)
	in := rawLoanInput()
	in["extra"] = map[string]any{"anything": 1}
	in["requester"].(map[string]any)["note"] = "x"
	r, err := e.DecideRaw(context.Background(), in)
	if err != nil || !r.Allow {
		t.Fatalf("got %+v, %v; want allow", r, err)
	}
}
