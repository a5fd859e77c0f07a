package policy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// A policy that reaches the network, the runtime, the clock or randomness
// does not compile (threats.md item 16).
func TestForbiddenBuiltinsDoNotCompile(t *testing.T) {
	tests := map[string]string{
		"http.send":          `x := http.send({"method": "GET", "url": "http://169.254.169.254/"})`,
		"opa.runtime":        `x := opa.runtime().env`,
		"net.lookup_ip_addr": `x := net.lookup_ip_addr("example.com")`,
		"net.cidr_contains":  `x := net.cidr_contains("10.0.0.0/8", "10.1.1.1")`,
		"time.now_ns":        `x := time.now_ns()`,
		"rand.intn":          `x := rand.intn("seed", 10)`,
		"uuid.rfc4122":       `x := uuid.rfc4122("k")`,
		"io.jwt.encode_sign": `x := io.jwt.encode_sign({"alg": "HS256"}, {}, {"kty": "oct", "k": "a2V5"})`,
		"json.match_schema":  `x := json.match_schema({}, {"$ref": "http://example.com/s.json"})`,
		"rego.parse_module":  `x := rego.parse_module("m.rego", "package m")`,
	}
	for builtin, rule := range tests {
		t.Run(builtin, func(t *testing.T) {
			src := "package creditnode.evil\n\n" + rule + "\n"
			_, err := New(context.Background(), Options{Modules: map[string]string{"evil.rego": src}})
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("New = %v, want ErrInvalidPolicy", err)
			}
			if !strings.Contains(err.Error(), "undefined function "+builtin) {
				t.Errorf("error %q: want undefined function %s", err, builtin)
			}
		})
	}
}

// Decision modules may not use "with": a bundle cannot mock a built-in or
// replace its input to switch checks off.
func TestWithIsRefusedInDecisionModules(t *testing.T) {
	tests := map[string]string{
		"mock builtin": `p if data.creditnode.authz.decision.allow with time.parse_rfc3339_ns as 0`,
		"mock input":   `p if data.creditnode.authz.decision.allow with input.purpose as "self_query"`,
		"mock data":    `p if data.creditnode.authz.decision.allow with data.creditnode.config.shared_roles as ["bank"]`,
	}
	for name, rule := range tests {
		t.Run(name, func(t *testing.T) {
			src := "package creditnode.evil\n\n" + rule + "\n"
			_, err := New(context.Background(), Options{Modules: map[string]string{"evil.rego": src}})
			if !errors.Is(err, ErrInvalidPolicy) || !errors.Is(err, ErrForbiddenWith) {
				t.Fatalf("New = %v, want ErrInvalidPolicy wrapping ErrForbiddenWith", err)
			}
		})
	}
}

// Test modules may use "with" (that is how they set input), and they are
// kept out of the decision engine.
func TestWithAllowedInTestModules(t *testing.T) {
	src := "package creditnode.extra_test\n\ntest_x if data.creditnode.authz.decision.allow == false with input as 1\n"
	if _, err := New(context.Background(), Options{Modules: map[string]string{"x_test.rego": src}}); err != nil {
		t.Fatal(err)
	}
}

// Every allowlisted name is a real built-in of this OPA version, so a typo
// cannot silently drop one, and none of the forbidden ones is listed.
func TestAllowlistIsExact(t *testing.T) {
	known := map[string]bool{}
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		known[b.Name] = true
	}
	for _, name := range allowedBuiltins() {
		if !known[name] {
			t.Errorf("allowlisted %q is not a built-in of this OPA version", name)
		}
		if strings.HasPrefix(name, "net.") || strings.HasPrefix(name, "http.") || strings.HasPrefix(name, "opa.") ||
			name == "time.now_ns" || strings.HasPrefix(name, "rand.") {
			t.Errorf("forbidden built-in %q is allowlisted", name)
		}
	}
	caps := capabilities()
	if len(caps.Builtins) != len(allowedBuiltins()) {
		t.Errorf("capabilities hold %d built-ins, allowlist %d", len(caps.Builtins), len(allowedBuiltins()))
	}
	if caps.AllowNet == nil || len(caps.AllowNet) != 0 {
		t.Errorf("AllowNet = %#v, want empty (no host)", caps.AllowNet)
	}
}
