package policy
import ("context";"testing"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem")
func BenchmarkZZRules(b *testing.B){
	ctx := context.Background()
	modules, _, data, _ := sources(Options{})
	caps := capabilities()
	compiler, _ := compile(modules, caps)
	doc, _ := decodeData(data)
	store := inmem.NewFromObjectWithOpts(doc, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	in := loanInput()
	v := in.value()
	for _, q := range []string{"data.creditnode.authz.grant", "data.creditnode.authz.cleared", "data.creditnode.authz.purpose_fields", "data.creditnode.authz.consented", "data.creditnode.authz.subject_cleared", "data.creditnode.authz.purpose", "data.creditnode.authz.precedence", "data.creditnode.authz.purpose_known", "data.creditnode.authz.well_formed","data.creditnode.authz.checks","data.creditnode.authz.allow","data.creditnode.authz.allow_reasons","data.creditnode.authz.fields","data.creditnode.authz.obligations","data.creditnode.authz.decision", "data.creditnode.authz.consent_faults", "data.creditnode.authz.category_faults"} {
		pq, err := rego.New(rego.Query(q), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
		if err != nil { b.Fatal(err) }
		b.Run(q[len("data.creditnode.authz."):], func(b *testing.B){
			b.ReportAllocs()
			for b.Loop() { if _, err := pq.Eval(ctx, rego.EvalParsedInput(v)); err != nil { b.Fatal(err) } }
		})
	}
}
