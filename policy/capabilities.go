package policy

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// allowedBuiltins returns the built-in functions policies may call: pure
// functions of their arguments. Left out on purpose: anything that reaches the
// network (http.send, net.*: net.lookup_ip_addr does DNS), reads the runtime
// or environment (opa.runtime), the clock or randomness (time.now_ns,
// rand.intn, uuid.rfc4122), handles keys or signs (io.jwt.*, crypto.x509.*,
// crypto.parse_private_keys, providers.aws.sign_req), fetches remote schemas
// (json.match_schema, json.verify_schema), parses policy (rego.parse_module),
// or parses formats prone to resource exhaustion (yaml.*, graphql.*).
func allowedBuiltins() []string {
	return []string{
		// Operators and core.
		"assign", "eq", "equal", "neq", "lt", "lte", "gt", "gte",
		"plus", "minus", "mul", "div", "rem", "abs", "round", "ceil", "floor",
		"and", "or", "internal.member_2", "internal.member_3",
		"internal.print", "print", "internal.template_string", "internal.test_case",
		// Aggregates, collections.
		"count", "sum", "product", "max", "min", "sort", "all", "any",
		"array.concat", "array.flatten", "array.reverse", "array.slice",
		"intersection", "union", "set_diff",
		"object.filter", "object.get", "object.keys", "object.remove",
		"object.subset", "object.union", "object.union_n",
		"numbers.range", "numbers.range_step", "walk",
		"graph.reachable", "graph.reachable_paths",
		// Types.
		"is_array", "is_boolean", "is_null", "is_number", "is_object", "is_set",
		"is_string", "type_name", "to_number", "format_int",
		// Strings and regular expressions (RE2: linear time).
		"concat", "contains", "endswith", "startswith", "indexof", "indexof_n",
		"lower", "upper", "replace", "split", "sprintf", "substring",
		"trim", "trim_left", "trim_prefix", "trim_right", "trim_space", "trim_suffix",
		"strings.any_prefix_match", "strings.any_suffix_match", "strings.count",
		"strings.replace_n", "strings.reverse", "strings.split_n",
		"regex.find_all_string_submatch_n", "regex.find_n", "regex.globs_match",
		"regex.is_valid", "regex.match", "regex.replace", "regex.split",
		"regex.template_match", "re_match", "glob.match", "glob.quote_meta",
		// Encodings and hashes.
		"base64.decode", "base64.encode", "base64.is_valid",
		"base64url.decode", "base64url.encode", "base64url.encode_no_pad",
		"hex.decode", "hex.encode", "json.is_valid", "json.marshal",
		"json.marshal_with_options", "json.unmarshal", "json.filter",
		"json.patch", "json.remove", "crypto.sha256", "crypto.hmac.sha256",
		"crypto.hmac.equal", "bits.and", "bits.or", "bits.xor", "bits.negate",
		"bits.lsh", "bits.rsh", "semver.compare", "semver.is_valid",
		"units.parse", "units.parse_bytes",
		// Time arithmetic on given instants (not the clock).
		"time.add_date", "time.clock", "time.date", "time.diff", "time.format",
		"time.parse_duration_ns", "time.parse_ns", "time.parse_rfc3339_ns",
		"time.weekday",
	}
}

// capabilities returns this OPA version's capabilities restricted to
// allowedBuiltins, with no network access for the compiler itself.
func capabilities() *ast.Capabilities {
	names := allowedBuiltins()
	allowed := make(map[string]bool, len(names))
	for _, name := range names {
		allowed[name] = true
	}
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if allowed[b.Name] {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	caps.AllowNet = []string{} // empty: the compiler may fetch nothing
	return caps
}

// checkNoWith refuses decision modules that use "with": a decision policy has
// no reason to replace its input, data or a built-in, and a bundle that mocks
// a built-in could switch checks off (threats.md item 16).
func checkNoWith(mod *ast.Module) error {
	var found []string
	ast.WalkExprs(mod, func(e *ast.Expr) bool {
		for _, w := range e.With {
			found = append(found, fmt.Sprintf("%s: with %v", w.Location, w.Target))
		}
		return false
	})
	if len(found) > 0 {
		return fmt.Errorf("%w: %s", ErrForbiddenWith, strings.Join(found, "; "))
	}
	return nil
}
