package policy

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// testTimeout bounds each Rego test.
const testTimeout = 30 * time.Second

// RunTests runs the Rego unit tests (modules named *_test.rego) against the
// engine's decision modules and data, under the same capabilities, writing
// OPA's report to w. A skipped test counts as failed. err is set when the
// tests could not run at all (for example a test module does not compile).
func (e *Engine) RunTests(ctx context.Context, w io.Writer, verbose bool) (passed, failed int, err error) {
	caps := capabilities()
	parsed, err := parse(e.modules, e.tests, caps)
	if err != nil {
		return 0, 0, err
	}
	doc, err := decodeData(e.data)
	if err != nil {
		return 0, 0, err
	}
	store := inmem.NewFromObjectWithOpts(doc, inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("policy: tests: %w", err)
	}
	defer store.Abort(ctx, txn)

	results, err := run(ctx, store, txn, parsed, newCompiler(caps).WithEnablePrintStatements(true))
	if err != nil {
		return 0, 0, fmt.Errorf("policy: tests: %w", err)
	}
	for _, r := range results {
		if r.Pass() {
			passed++
		} else {
			failed++
		}
	}
	ch := make(chan *tester.Result, len(results))
	for _, r := range results {
		ch <- r
	}
	close(ch)
	if err := (tester.PrettyReporter{Output: w, Verbose: verbose}).Report(ch); err != nil {
		return passed, failed, fmt.Errorf("policy: tests: report: %w", err)
	}
	return passed, failed, nil
}

func run(ctx context.Context, store storage.Store, txn storage.Transaction, modules map[string]*ast.Module, compiler *ast.Compiler) ([]*tester.Result, error) {
	ch, err := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(store).
		SetModules(modules).
		SetTimeout(testTimeout).
		RaiseBuiltinErrors(false).
		CapturePrintOutput(true).
		RunTests(ctx, txn)
	if err != nil {
		return nil, err
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	return results, nil
}
