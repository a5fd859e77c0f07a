// Package policy decides, with an embedded OPA policy written in Rego v1,
// whether a requester may receive categories of credit information about a
// subject, for a purpose, and which fields of each category may leave.
//
// The policy (package creditnode.authz in rego/*.rego) and its data
// (rego/data.json: the closed list of purposes, the roles each allows, the
// field lists used for minimisation, the permitted cross-border pairs) are
// compiled once by [New], which prepares the single query
// data.creditnode.authz.decision. [Engine.Decide] then evaluates it per
// request. The decision is always defined: missing, null or wrongly typed
// input is a deny with reason "malformed_input". An evaluation error or an
// undefined result is returned as an error, and the caller must fail closed.
//
// Decide builds the input from [Input], whose Go types guarantee that every
// field is present with its JSON type, and marks it with [TypedKey] so the
// policy skips its type checks (never its value checks); [Engine.DecideRaw]
// and [Engine.Explain] take arbitrary JSON and get every check. Tests hold
// the two paths to the same decisions.
//
// Compilation uses an allowlist of built-in functions: nothing that reaches
// the network (http.send, net.*), reads the runtime (opa.runtime), the clock
// or randomness, or handles keys. Decision modules may not use "with", so a
// policy cannot mock a built-in or rewrite its own input. The Rego unit tests
// (rego/*_test.rego) are embedded too but kept out of the decision engine;
// [Engine.RunTests] runs them.
package policy
