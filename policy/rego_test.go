package policy

import (
	"bytes"
	"context"
	"testing"
)

// TestRegoUnitTests runs the embedded Rego tests; it fails if any fails or
// none ran.
func TestRegoUnitTests(t *testing.T) {
	e := newEngine(t)
	var out bytes.Buffer
	passed, failed, err := e.RunTests(context.Background(), &out, testing.Verbose())
	if err != nil {
		t.Fatalf("RunTests: %v", err)
	}
	t.Logf("rego tests: %d passed, %d failed\n%s", passed, failed, out.String())
	if failed != 0 {
		t.Errorf("%d Rego tests failed", failed)
	}
	if passed < 20 {
		t.Errorf("only %d Rego tests passed; expected the full suite", passed)
	}
}
