package policy

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The embedded policy: decision modules, Rego tests and data.json.
//
//go:embed rego
var embedded embed.FS

const (
	// Query is the single decision the engine evaluates.
	Query = "data.creditnode.authz.decision"

	// testSuffix marks Rego test modules: run by RunTests, never compiled
	// into the decision engine.
	testSuffix = "_test.rego"

	embeddedDir  = "rego"
	dataFileName = "data.json"

	// revisionLabel separates the revision hash from any other SHA-256 use.
	revisionLabel = "creditnode/policy-revision/v1\n"
)

// Errors returned by New and Decide.
var (
	// ErrInvalidPolicy is returned by New when a module does not parse or
	// compile (including a call to a built-in outside the allowlist, such as
	// http.send or opa.runtime), when a decision module uses "with", or when
	// the data document is unusable. The caller keeps the previous policy.
	ErrInvalidPolicy = errors.New("policy: invalid policy")

	// ErrForbiddenWith is wrapped in ErrInvalidPolicy when a decision module
	// uses the "with" keyword.
	ErrForbiddenWith = errors.New("policy: \"with\" is not allowed in decision modules")

	// ErrNoDecision is returned by Decide when the query is undefined or
	// yields a value that is not a well-formed decision. Fail closed.
	ErrNoDecision = errors.New("policy: no decision")
)

// Options configure New. The zero value uses the embedded policy and data.
type Options struct {
	// Modules adds Rego modules by file name, or replaces the embedded
	// module of the same name (for example "authz.rego"). Names ending in
	// "_test.rego" are test modules.
	Modules map[string]string

	// Data, if non-nil, replaces the embedded data.json document (the value
	// at the root of data; the policy reads data.creditnode.config).
	Data map[string]any
}

// Engine evaluates the compiled policy. It is safe for concurrent use.
type Engine struct {
	query    rego.PreparedEvalQuery
	modules  map[string]string // decision modules by name
	tests    map[string]string // test modules by name
	data     []byte            // the data document as canonical JSON
	purposes []string
	limits   map[string]QueryLimit // fair-use query limit per purpose
	revision string
	serial   int64 // of the bundle loaded (LoadBundle); 0 otherwise

	grading *rego.PreparedEvalQuery // nil if the policy has no grading rules (grading.go)
}

// New compiles the policy once and prepares the decision query.
func New(ctx context.Context, opts Options) (*Engine, error) {
	modules, tests, data, err := sources(opts)
	if err != nil {
		return nil, err
	}
	return build(ctx, modules, tests, data, "")
}

// build compiles decision modules and data into an engine. An empty rev
// means the content hash (see revision).
func build(ctx context.Context, modules, tests map[string]string, data []byte, rev string) (*Engine, error) {
	caps := capabilities()
	compiler, err := compile(modules, caps)
	if err != nil {
		return nil, err
	}
	if len(compiler.GetRules(ast.MustParseRef(Query))) == 0 {
		return nil, fmt.Errorf("%w: no rule defines %s", ErrInvalidPolicy, Query)
	}
	doc, err := decodeData(data)
	if err != nil {
		return nil, err
	}
	purposes, err := purposesOf(doc)
	if err != nil {
		return nil, err
	}
	limits := limitsOf(doc) // before the store takes doc
	store := inmem.NewFromObjectWithOpts(doc,
		inmem.OptRoundTripOnWrite(false),
		inmem.OptReturnASTValuesOnRead(true))
	query, err := rego.New(
		rego.Query(Query),
		rego.Compiler(compiler),
		rego.Store(store),
		rego.Capabilities(caps),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: prepare: %w", ErrInvalidPolicy, err)
	}
	grading, err := prepareGrading(ctx, compiler, store, caps) // nil without grading rules (grading.go)
	if err != nil {
		return nil, err
	}
	return &Engine{
		query:    query,
		grading:  grading,
		modules:  modules,
		tests:    tests,
		data:     data,
		purposes: purposes,
		limits:   limits,
		revision: cmp.Or(rev, revision(modules, data)),
	}, nil
}

// sources gathers the decision modules, the test modules and the data
// document, the options overriding the embedded files.
func sources(opts Options) (modules, tests map[string]string, data []byte, err error) {
	all := map[string]string{}
	entries, err := fs.ReadDir(embedded, embeddedDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".rego" {
			continue
		}
		b, err := embedded.ReadFile(path.Join(embeddedDir, name))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
		}
		all[name] = string(b)
	}
	maps.Copy(all, opts.Modules)

	modules, tests = map[string]string{}, map[string]string{}
	for name, src := range all {
		if strings.HasSuffix(name, testSuffix) {
			tests[name] = src
		} else {
			modules[name] = src
		}
	}

	if opts.Data != nil {
		data, err = json.Marshal(opts.Data) // map keys sorted: canonical
	} else {
		var raw []byte
		raw, err = embedded.ReadFile(path.Join(embeddedDir, dataFileName))
		if err == nil {
			data, err = canonicalJSON(raw)
		}
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: data: %w", ErrInvalidPolicy, err)
	}
	return modules, tests, data, nil
}

// parse parses decision modules, which may not use "with", and test modules,
// under the capabilities allowlist.
func parse(modules, tests map[string]string, caps *ast.Capabilities) (map[string]*ast.Module, error) {
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps}
	parsed := make(map[string]*ast.Module, len(modules)+len(tests))
	for name, src := range modules {
		m, err := ast.ParseModuleWithOpts(name, src, popts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
		}
		if err := checkNoWith(m); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, name, err)
		}
		parsed[name] = m
	}
	for name, src := range tests {
		m, err := ast.ParseModuleWithOpts(name, src, popts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
		}
		parsed[name] = m
	}
	return parsed, nil
}

// newCompiler returns a strict compiler restricted to caps.
func newCompiler(caps *ast.Capabilities) *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(caps).
		WithStrict(true).
		WithDefaultRegoVersion(ast.RegoV1)
}

// compile parses and compiles the decision modules.
func compile(modules map[string]string, caps *ast.Capabilities) (*ast.Compiler, error) {
	parsed, err := parse(modules, nil, caps)
	if err != nil {
		return nil, err
	}
	compiler := newCompiler(caps)
	if compiler.Compile(parsed); compiler.Failed() {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, compiler.Errors)
	}
	return compiler, nil
}

func canonicalJSON(raw []byte) ([]byte, error) {
	var v any
	if err := decodeJSON(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func decodeJSON(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after JSON document")
	}
	return nil
}

// decodeData returns a fresh copy of the data document for a store.
func decodeData(data []byte) (map[string]any, error) {
	var doc map[string]any
	if err := decodeJSON(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: data: %w", ErrInvalidPolicy, err)
	}
	return doc, nil
}

func purposesOf(doc map[string]any) ([]string, error) {
	cn, _ := doc["creditnode"].(map[string]any)
	config, _ := cn["config"].(map[string]any)
	purposes, _ := config["purposes"].(map[string]any)
	if len(purposes) == 0 {
		return nil, fmt.Errorf("%w: data has no creditnode.config.purposes", ErrInvalidPolicy)
	}
	return slices.Sorted(maps.Keys(purposes)), nil
}

// revision hashes the decision modules (sorted by name, each length-prefixed)
// and the canonical data document.
func revision(modules map[string]string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(revisionLabel))
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		fmt.Fprintf(h, "module %d %s\n%d\n", len(name), name, len(modules[name]))
		h.Write([]byte(modules[name]))
	}
	fmt.Fprintf(h, "data %d\n", len(data))
	h.Write(data)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Decide evaluates the policy for in. A deny is a Result with Allow false,
// not an error; an error means no decision could be made, and the caller
// must fail closed (schemas.CodePolicyUnavailable).
//
// The input carries TypedKey: Input's types guarantee the shape of every
// field, so the policy skips its type checks; every value check still runs
// (typed_test.go holds Decide to DecideRaw's decisions).
func (e *Engine) Decide(ctx context.Context, in Input) (Result, error) {
	return e.eval(ctx, in.value(), nil)
}

// DecideRaw evaluates the policy for an arbitrary JSON-like input (maps,
// slices, strings, numbers, booleans, nil). It exists for tools and tests
// that must feed inputs Input cannot express, such as wrong types. The
// policy checks the shape of every field; an input that sets TypedKey,
// which would skip those checks, is an error.
func (e *Engine) DecideRaw(ctx context.Context, input any) (Result, error) {
	v, err := rawValue(input)
	if err != nil {
		return Result{}, err
	}
	return e.eval(ctx, v, nil)
}

// rawValue converts a raw input for evaluation, refusing TypedKey.
func rawValue(input any) (ast.Value, error) {
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return nil, fmt.Errorf("policy: input: %w", err)
	}
	if obj, ok := v.(ast.Object); ok && obj.Get(kTyped) != nil {
		return nil, fmt.Errorf("policy: input: key %q is reserved for Decide", TypedKey)
	}
	return v, nil
}

// noMetrics is passed to every evaluation: without it OPA allocates a
// metrics registry per query that nothing reads.
var noMetrics = metrics.NoOp()

// asTerm keeps the query's value as an AST term: decodeDecision reads it
// directly instead of OPA first converting it to maps and slices.
func asTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

// eval evaluates the decision query for input; tracer, if not nil, sees
// every evaluation step (Explain).
func (e *Engine) eval(ctx context.Context, input ast.Value, tracer topdown.QueryTracer) (Result, error) {
	// OPA notices cancellation only at its periodic checks; a request whose
	// deadline has passed gets no decision at all (the caller fails closed).
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("policy: evaluate: %w", err)
	}
	// Cancellation through context.AfterFunc: left to itself, OPA starts a
	// goroutine per evaluation to watch ctx, and waking it costs more than a
	// small decision. A context that can never be cancelled needs nothing.
	cancel := topdown.NewCancel()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, cancel.Cancel)
		defer stop()
	}
	opts := []rego.EvalOption{
		rego.EvalParsedInput(input),
		rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(noMetrics),
		rego.EvalGenerateJSON(asTerm),
	}
	if tracer != nil {
		opts = append(opts, rego.EvalQueryTracer(tracer))
	}
	rs, err := e.query.Eval(ctx, opts...)
	if err != nil {
		return Result{}, fmt.Errorf("policy: evaluate: %w", err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return Result{}, fmt.Errorf("%w: %s is undefined", ErrNoDecision, Query)
	}
	t, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		return Result{}, fmt.Errorf("%w: decision is %T, not a term", ErrNoDecision, rs[0].Expressions[0].Value)
	}
	r, err := decodeDecision(t.Value)
	if err != nil {
		return Result{}, err
	}
	r.Revision = e.revision
	r.DecisionID = newDecisionID()
	return r, nil
}

// newDecisionID returns 128 random bits in hex. crypto/rand.Read never
// fails (it panics on a broken system source).
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Purposes returns the closed list of purpose codes from the data, sorted.
func (e *Engine) Purposes() []string { return slices.Clone(e.purposes) }

// Revision returns the policy revision: a SHA-256 over the decision modules
// and the data, stable across restarts for the same policy.
func (e *Engine) Revision() string { return e.revision }

// Serial returns the serial of the signed bundle the engine was loaded from
// (see LoadBundle), or 0 for the embedded policy or a directory.
func (e *Engine) Serial() int64 { return e.serial }
