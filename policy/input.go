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
// subject: allowed queries for this purpose in the purpose's fair-use
// period (Engine.QueryLimit), not counting this one.
type Usage struct {
	QueriesInPeriod int `json:"queries_in_period"`

	// Limit and OldestInPeriod are not policy input: they let the caller
	// tell a requester denied query_limit_exceeded what the limit is and
	// when the period frees a slot.
	Limit          QueryLimit `json:"-"`
	OldestInPeriod time.Time  `json:"-"`
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

// TypedKey is the input key Decide sets to true: the input was built from
// Input, so every field is present with its JSON type and the policy may
// skip its type checks (never its value checks). DecideRaw and Explain
// refuse an input that sets it, so raw input always gets the full checks.
const TypedKey = "typed"

// Object keys of the input, built once: terms are never modified once built
// (OPA shares its interned terms across evaluations the same way).
var (
	kTyped        = ast.StringTerm(TypedKey)
	kRequester    = ast.StringTerm("requester")
	kProvider     = ast.StringTerm("provider")
	kSubject      = ast.StringTerm("subject")
	kPurpose      = ast.StringTerm("purpose")
	kCategories   = ast.StringTerm("categories")
	kConsent      = ast.StringTerm("consent")
	kApproval     = ast.StringTerm("approval")
	kUsage        = ast.StringTerm("usage")
	kTime         = ast.StringTerm("time")
	kID           = ast.StringTerm("id")
	kOrganisation = ast.StringTerm("organisation")
	kRoles        = ast.StringTerm("roles")
	kJurisdiction = ast.StringTerm("jurisdiction")
	kType         = ast.StringTerm("type")
	kName         = ast.StringTerm("name")
	kLevel        = ast.StringTerm("level")
	kPresent      = ast.StringTerm("present")
	kUsesLeft     = ast.StringTerm("uses_left")
	kNotBefore    = ast.StringTerm("nbf")
	kExpiry       = ast.StringTerm("exp")
	kMaxUses      = ast.StringTerm("max_uses")
	kDataFrom     = ast.StringTerm("data_from")
	kDataTo       = ast.StringTerm("data_to")
	kQueries      = ast.StringTerm("queries_in_period")
)

// value builds the AST form of the input directly, which is several times
// cheaper than a JSON round trip, with the same keys and values as the JSON
// encoding of Input except that nil slices are empty arrays, the time is in
// UTC, and TypedKey is true.
func (in *Input) value() ast.Value {
	s := ast.InternedTerm[string] // "" and other common strings are shared
	strs := func(vs []string) *ast.Term {
		ts := make([]*ast.Term, len(vs))
		for i, v := range vs {
			ts[i] = s(v)
		}
		return ast.ArrayTerm(ts...)
	}
	item := func(k, v *ast.Term) [2]*ast.Term { return [2]*ast.Term{k, v} }
	cats := make([]*ast.Term, len(in.Categories))
	for i, c := range in.Categories {
		cats[i] = ast.ObjectTerm(item(kName, s(c.Name)), item(kLevel, s(c.Level)))
	}
	k, a := &in.Consent, &in.Approval
	return ast.NewObject(
		item(kTyped, ast.InternedTerm(true)),
		item(kRequester, ast.ObjectTerm(
			item(kID, s(in.Requester.ID)),
			item(kOrganisation, s(in.Requester.Organisation)),
			item(kRoles, strs(in.Requester.Roles)),
			item(kJurisdiction, s(in.Requester.Jurisdiction)),
		)),
		item(kProvider, ast.ObjectTerm(
			item(kID, s(in.Provider.ID)),
			item(kJurisdiction, s(in.Provider.Jurisdiction)),
		)),
		item(kSubject, ast.ObjectTerm(
			item(kID, s(in.Subject.ID)),
			item(kType, s(in.Subject.Type)),
		)),
		item(kPurpose, s(in.Purpose)),
		item(kCategories, ast.ArrayTerm(cats...)),
		item(kConsent, ast.ObjectTerm(
			item(kPresent, ast.InternedTerm(k.Present)),
			item(kID, s(k.ID)),
			item(kRequester, s(k.Requester)),
			item(kPurpose, s(k.Purpose)),
			item(kCategories, strs(k.Categories)),
			item(kUsesLeft, ast.InternedTerm(k.UsesLeft)),
			item(kNotBefore, ast.InternedTerm(k.NotBefore)),
			item(kExpiry, ast.InternedTerm(k.Expiry)),
			item(kMaxUses, ast.InternedTerm(k.MaxUses)),
			item(kDataFrom, s(k.DataFrom)),
			item(kDataTo, s(k.DataTo)),
		)),
		item(kUsage, ast.ObjectTerm(
			item(kQueries, ast.InternedTerm(in.Usage.QueriesInPeriod)),
		)),
		item(kApproval, ast.ObjectTerm(
			item(kPresent, ast.InternedTerm(a.Present)),
			item(kID, s(a.ID)),
			item(kPurpose, s(a.Purpose)),
			item(kCategories, strs(a.Categories)),
			item(kRequester, s(a.Requester)),
			item(kSubject, s(a.Subject)),
		)),
		item(kTime, ast.StringTerm(in.Time.UTC().Format(time.RFC3339Nano))),
	)
}
