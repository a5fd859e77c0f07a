package policy

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Sharing levels of a category, as the provider's catalogue states them.
const (
	LevelPublic     = "public"     // any member, any listed purpose, no consent
	LevelShared     = "shared"     // public bodies under a statutory purpose
	LevelAuthorised = "authorised" // only with the subject's consent
	LevelRestricted = "restricted" // only with a special approval
	LevelNone       = ""           // the provider has no such category
)

// Roles a federation member may hold.
const (
	RoleBank       = "bank"
	RoleBureau     = "bureau"
	RoleDepartment = "department"
	RoleRegistrar  = "registrar"
	RoleRegulator  = "regulator"
)

// Input is what the policy decides on. Field names in JSON are the names the
// Rego policy reads.
type Input struct {
	Requester  Requester  `json:"requester"`
	Provider   Provider   `json:"provider"`
	Subject    Subject    `json:"subject"`
	Purpose    string     `json:"purpose"`
	Categories []Category `json:"categories"`
	Consent    Consent    `json:"consent"`
	Approval   Approval   `json:"approval"`
	Usage      Usage      `json:"usage"`
	Time       time.Time  `json:"time"` // sent as RFC 3339 in UTC
}

// Requester is the member asking, as the registry describes it.
type Requester struct {
	ID           string   `json:"id"`
	Organisation string   `json:"organisation"`
	Roles        []string `json:"roles"`
	Jurisdiction string   `json:"jurisdiction"`
}

// Provider is this node.
type Provider struct {
	ID           string `json:"id"`
	Jurisdiction string `json:"jurisdiction"`
}

// Subject is whom the query is about: schemas.SubjectEnterprise or
// schemas.SubjectPerson.
type Subject struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Category is one requested category with the level the provider's catalogue
// gives it (LevelNone when the provider has no such category).
type Category struct {
	Name  string `json:"name"`
	Level string `json:"level"`
}

// Consent is the subject's authorisation. The caller has already verified its
// signature, validity window, revocation, subject and provider; the policy
// checks that it covers the requester, the purpose and each category.
type Consent struct {
	Present    bool     `json:"present"`
	ID         string   `json:"id"`
	Requester  string   `json:"requester"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	UsesLeft   int      `json:"uses_left"`
	// NotBefore and Expiry (Unix seconds) and MaxUses are the consent's
	// own terms, checked against the purpose's fair-use limits. Zero
	// values are not checked.
	NotBefore int64 `json:"nbf"`
	Expiry    int64 `json:"exp"`
	MaxUses   int   `json:"max_uses"`
	// DataFrom and DataTo are the consent's data date range
	// (schemas.DateLayout, inclusive; "" for an open bound).
	DataFrom string `json:"data_from"`
	DataTo   string `json:"data_to"`
}

// Usage is what the node's inquiry log says about this requester and
// subject: allowed queries in the purpose's fair-use period
// (Engine.UsagePeriod), not counting this one.
type Usage struct {
	QueriesInPeriod int `json:"queries_in_period"`
}

// Approval is a special approval for restricted categories, already
// signature-checked by the caller.
type Approval struct {
	Present    bool     `json:"present"`
	ID         string   `json:"id"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	Requester  string   `json:"requester"`
	Subject    string   `json:"subject"`
}

// value builds the AST form of the input directly, which is several times
// cheaper than a JSON round trip. Nil slices become empty arrays.
func (in *Input) value() ast.Value {
	cats := make([]*ast.Term, len(in.Categories))
	for i, c := range in.Categories {
		cats[i] = ast.ObjectTerm(
			str("name", c.Name),
			str("level", c.Level),
		)
	}
	return ast.NewObject(
		obj("requester",
			str("id", in.Requester.ID),
			str("organisation", in.Requester.Organisation),
			strs("roles", in.Requester.Roles),
			str("jurisdiction", in.Requester.Jurisdiction),
		),
		obj("provider",
			str("id", in.Provider.ID),
			str("jurisdiction", in.Provider.Jurisdiction),
		),
		obj("subject",
			str("id", in.Subject.ID),
			str("type", in.Subject.Type),
		),
		str("purpose", in.Purpose),
		[2]*ast.Term{ast.StringTerm("categories"), ast.ArrayTerm(cats...)},
		obj("consent",
			[2]*ast.Term{ast.StringTerm("present"), ast.BooleanTerm(in.Consent.Present)},
			str("id", in.Consent.ID),
			str("requester", in.Consent.Requester),
			str("purpose", in.Consent.Purpose),
			strs("categories", in.Consent.Categories),
			[2]*ast.Term{ast.StringTerm("uses_left"), ast.IntNumberTerm(in.Consent.UsesLeft)},
			[2]*ast.Term{ast.StringTerm("nbf"), ast.IntNumberTerm(int(in.Consent.NotBefore))},
			[2]*ast.Term{ast.StringTerm("exp"), ast.IntNumberTerm(int(in.Consent.Expiry))},
			[2]*ast.Term{ast.StringTerm("max_uses"), ast.IntNumberTerm(in.Consent.MaxUses)},
			str("data_from", in.Consent.DataFrom),
			str("data_to", in.Consent.DataTo),
		),
		obj("usage",
			[2]*ast.Term{ast.StringTerm("queries_in_period"), ast.IntNumberTerm(in.Usage.QueriesInPeriod)},
		),
		obj("approval",
			[2]*ast.Term{ast.StringTerm("present"), ast.BooleanTerm(in.Approval.Present)},
			str("id", in.Approval.ID),
			str("purpose", in.Approval.Purpose),
			strs("categories", in.Approval.Categories),
			str("requester", in.Approval.Requester),
			str("subject", in.Approval.Subject),
		),
		str("time", in.Time.UTC().Format(time.RFC3339Nano)),
	)
}

func str(k, v string) [2]*ast.Term {
	return [2]*ast.Term{ast.StringTerm(k), ast.StringTerm(v)}
}

func strs(k string, vs []string) [2]*ast.Term {
	ts := make([]*ast.Term, len(vs))
	for i, v := range vs {
		ts[i] = ast.StringTerm(v)
	}
	return [2]*ast.Term{ast.StringTerm(k), ast.ArrayTerm(ts...)}
}

func obj(k string, items ...[2]*ast.Term) [2]*ast.Term {
	return [2]*ast.Term{ast.StringTerm(k), ast.ObjectTerm(items...)}
}
