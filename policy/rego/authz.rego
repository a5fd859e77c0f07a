# METADATA
# title: Credit exchange authorisation
# description: |
#   Decides whether a requester may receive categories of credit information
#   about a subject, for a purpose, and which fields may leave. Deny by default;
#   the decision is all-or-nothing over the requested categories.
#
#   The single entry point is `decision`, which is always defined: garbage
#   input yields a deny with code "malformed_input". Denials are explained
#   twice: as a set of wire codes (`denials`) and, independently, by the
#   absence of a positive grant for every category (`allow`). On the request
#   path only `allow` is evaluated for an allow, and the codes only for a
#   deny (the cheaper order); the Rego tests assert that the two agree on
#   every cell of the role × purpose × level matrix and every targeted case.
#
#   The Go caller has already verified signatures, validity windows and
#   revocation of the consent and approval; this policy checks coverage.
#
#   Every request runs this policy, so it is written for OPA's evaluator,
#   where a rule reference, a function call or a read of data with a computed
#   key each cost several comparisons on local variables: a rule body reads
#   what it needs into local variables once, before iterating; each
#   per-request fact is a rule, evaluated once and then cached; partial rules
#   are only used whole, never looked up by key (a lookup re-runs their
#   bodies); no function is called per category. Beware that OPA evaluates
#   the operands of a negated call before the negation: `not count(x[k]) > 0`
#   fails, rather than succeeds, when x[k] is undefined.
#   BenchmarkDecideLatency in policy/bench_test.go measures it.
package creditnode.authz

import data.creditnode.config as cfg

# Denial codes, most relevant first: `code` is the first one present.
precedence := [
	"malformed_input",
	"purpose_unknown",
	"purpose_not_permitted",
	"jurisdiction_not_permitted",
	"category_unknown",
	"consent_missing",
	"consent_exhausted",
	"consent_wrong_requester",
	"consent_wrong_purpose",
	"consent_wrong_category",
	"consent_validity_exceeded",
	"consent_uses_exceeded",
	"query_limit_exceeded",
	"approval_missing",
	"approval_wrong_subject",
	"approval_wrong_requester",
	"approval_wrong_purpose",
	"approval_wrong_category",
	"level_not_permitted",
]

rank := {
	"malformed_input": 0,
	"purpose_unknown": 1,
	"purpose_not_permitted": 2,
	"jurisdiction_not_permitted": 3,
	"category_unknown": 4,
	"consent_missing": 5,
	"consent_exhausted": 6,
	"consent_wrong_requester": 7,
	"consent_wrong_purpose": 8,
	"consent_wrong_category": 9,
	"consent_validity_exceeded": 10,
	"consent_uses_exceeded": 11,
	"query_limit_exceeded": 12,
	"approval_missing": 13,
	"approval_wrong_subject": 14,
	"approval_wrong_requester": 15,
	"approval_wrong_purpose": 16,
	"approval_wrong_category": 17,
	"level_not_permitted": 18,
}

# ---------------------------------------------------------------------------
# Decision

# Reached only if the rules below leave a hole: still a deny.
default decision := {
	"allow": false,
	"code": "policy_denied",
	"reasons": ["policy_denied"],
	"obligations": {},
}

decision := {
	"allow": true,
	"reasons": sort(allow_reasons),
	"fields": fields,
	"obligations": obligations,
} if allow

decision := {
	"allow": false,
	"code": code,
	"reasons": sort(denials),
	"obligations": {},
} if not allow

# The first code of precedence among the denials: rank is precedence as an
# object (a test checks that they agree), so the lowest rank names it.
code := precedence[min({rank[d] | some d in denials})]

denials := {"malformed_input"} if not well_formed

denials := checks if well_formed

# allow needs positive evidence for every category and no fair-use limit
# exceeded. The denial codes (checks) are evaluated only on a deny: that
# every allow has no check, and every deny at least one, is asserted for
# every cell of the test matrix (authz_test.rego, test_allow_agrees_with_checks),
# and a deny without a code falls to the default decision (policy_denied).
# role_permitted implies a known purpose. Category names are unique in
# well-formed input, so counting names counts categories.
allow if {
	well_formed
	role_permitted
	jurisdiction_permitted
	count(fair_use_faults) == 0
	n := count(input.categories)
	count(available) == n
	count(grant) == n
	subject_permits
}

# ---------------------------------------------------------------------------
# Input shape. Anything missing, null or of the wrong type is malformed, and
# so is an empty identifier, an unknown subject type or level, a repeated
# category, a consent or approval without an id, a bound that is not a date,
# or a time that is not RFC 3339.

well_formed if {
	well_typed
	r := input.requester
	not r.id == ""
	not r.jurisdiction == ""
	p := input.provider
	not p.id == ""
	not p.jurisdiction == ""
	s := input.subject
	not s.id == ""
	s.type in {"enterprise", "person"}

	# Categories: a non-empty array with unique non-empty names and known
	# levels ("" means the provider lacks the category).
	n := count(input.categories)
	n > 0
	count(requested) == n

	# A present consent or approval has an id.
	k := input.consent
	not [k.present, k.id] == [true, ""]
	a := input.approval
	not [a.present, a.id] == [true, ""]

	# A data-range bound is "" (open, or absent) or a YYYY-MM-DD date.
	regex.match(`^([0-9]{4}-[0-9]{2}-[0-9]{2})?$`, object.get(k, "data_from", ""))
	regex.match(`^([0-9]{4}-[0-9]{2}-[0-9]{2})?$`, object.get(k, "data_to", ""))

	now_ns
}

# The requested category names that are non-empty and have a known level.
# An entry that is not an object, lacks either, or repeats a name makes the
# set smaller than the array.
requested := {c.name |
	some c in input.categories
	not c.name == ""
	c.level in {"public", "shared", "authorised", "restricted", ""}
}

# Every field is present with its JSON type. Engine.Decide builds the input
# from Go types that guarantee exactly this and says so with input.typed;
# any other input (tools, tests, `policy explain`) is checked field by field.
# Engine.DecideRaw refuses input that sets typed itself.
well_typed if input.typed == true

well_typed if types_checked

types_checked if {
	is_object(input)

	r := input.requester
	is_string(r.id)
	is_string(r.organisation)
	is_array(r.roles)
	concat(",", r.roles) # undefined unless every role is a string
	is_string(r.jurisdiction)

	is_string(input.provider.id)
	is_string(input.provider.jurisdiction)

	is_string(input.subject.id)
	is_string(input.purpose)

	is_array(input.categories)
	every c in input.categories {
		is_string(c.name)
	}

	k := input.consent
	is_boolean(k.present)
	is_string(k.id)
	is_string(k.requester)
	is_string(k.purpose)
	is_array(k.categories)
	concat(",", k.categories)
	is_number(k.uses_left)

	# Fair-use facts are optional (zero means unknown); when present, numbers.
	is_number(object.get(k, "nbf", 0))
	is_number(object.get(k, "exp", 0))
	is_number(object.get(k, "max_uses", 0))
	is_number(object.get(object.get(input, "usage", {}), "queries_in_period", 0))

	a := input.approval
	is_boolean(a.present)
	is_string(a.id)
	is_string(a.purpose)
	is_array(a.categories)
	concat(",", a.categories)
	is_string(a.requester)
	is_string(a.subject)
}

now_ns := time.parse_rfc3339_ns(input.time)

# ---------------------------------------------------------------------------
# Checks: every reason to deny, as wire codes.

checks contains "purpose_unknown" if not purpose

checks contains "purpose_not_permitted" if {
	purpose
	not role_permitted
}

checks contains "jurisdiction_not_permitted" if not jurisdiction_permitted

checks contains fault if some [_, fault] in category_faults

checks contains fault if some fault in fair_use_faults

# Per category: [name, code]. Kept as pairs so a later explain can say which
# category failed.
category_faults contains [c.name, "category_unknown"] if {
	known := cfg.categories
	some c in input.categories
	not known[c.name]
}

category_faults contains [c.name, "category_unknown"] if {
	not cfg.categories
	some c in input.categories
}

category_faults contains [c.name, "category_unknown"] if {
	some c in input.categories
	c.level == ""
}

# Levels this purpose cannot reach at all, given the requester's roles:
# public and restricted data are reachable by every purpose, shared data
# only by public bodies under a statutory purpose, authorised data only by a
# purpose that rests on consent.
category_faults contains [c.name, "level_not_permitted"] if {
	some c in considered
	c.level == "shared"
	not statutory_access
}

category_faults contains [c.name, "level_not_permitted"] if {
	some c in considered
	c.level == "authorised"
	not purpose.consent == true
}

# Minimisation: a purpose with no field list for a category may not reach
# it. (A considered category is known, so available means it has fields.)
category_faults contains [c.name, "level_not_permitted"] if {
	have := available
	some c in considered
	not c.name in have
}

category_faults contains [c.name, fault] if {
	faults := consent_faults
	count(faults) > 0
	needed := consent_needed
	some c in considered
	c.name in needed
	some fault in faults
}

category_faults contains [c.name, "consent_wrong_category"] if {
	k := input.consent
	k.present == true
	needed := consent_needed
	some c in considered
	c.name in needed
	not c.name in k.categories
}

# A restricted category needs a special approval covering it; each way the
# approval falls short has its own code (the signature, the regulator role
# and the validity window were checked by the caller).
category_faults contains [c.name, "approval_missing"] if {
	not input.approval.present == true
	some c in considered
	c.level == "restricted"
}

category_faults contains [c.name, fault] if {
	input.approval.present == true
	faults := approval_faults
	some c in considered
	c.level == "restricted"
	some fault in faults
}

category_faults contains [c.name, "approval_wrong_category"] if {
	a := input.approval
	a.present == true
	some c in considered
	c.level == "restricted"
	not c.name in a.categories
}

approval_faults contains "approval_wrong_subject" if input.approval.subject != input.subject.id

approval_faults contains "approval_wrong_requester" if input.approval.requester != input.requester.id

approval_faults contains "approval_wrong_purpose" if input.approval.purpose != input.purpose

# Categories judged against the purpose: known ones, once the purpose is known.
considered contains c if {
	purpose
	known := cfg.categories
	some c in input.categories
	known[c.name]
	not c.level == ""
}

consent_faults contains "consent_missing" if not input.consent.present == true

consent_faults contains "consent_exhausted" if {
	input.consent.present == true
	input.consent.uses_left < 1
}

consent_faults contains "consent_wrong_requester" if {
	input.consent.present == true
	input.consent.requester != input.requester.id
}

consent_faults contains "consent_wrong_purpose" if {
	input.consent.present == true
	input.consent.purpose != input.purpose
}

# Fair use (data.creditnode.config.fair_use, per purpose): limits on the
# consent's validity and uses, and on how often one requester may query one
# subject in a period. A purpose without an entry, or a limit not set, is
# not limited. Boundaries are inclusive: exactly the maximum is allowed.
fair := cfg.fair_use[input.purpose]

fair_use_faults contains "consent_validity_exceeded" if {
	f := fair
	k := input.consent
	k.present == true
	k.exp > 0
	k.exp - k.nbf > f.max_consent_days * 86400
}

fair_use_faults contains "consent_uses_exceeded" if {
	f := fair
	input.consent.present == true
	input.consent.max_uses > f.max_uses
}

# queries_in_period counts earlier allowed queries: this one would be one more.
fair_use_faults contains "query_limit_exceeded" if {
	f := fair
	input.usage.queries_in_period >= f.max_queries_per_period
}

# ---------------------------------------------------------------------------
# Building blocks.

purpose := cfg.purposes[input.purpose]

role_permitted if {
	roles := purpose.roles
	some role in input.requester.roles
	role in roles
}

# Shared data goes to public bodies acting under a statutory purpose.
statutory_access if {
	p := purpose
	p.statutory == true
	some role in input.requester.roles
	role in p.roles
	role in cfg.shared_roles
}

jurisdiction_permitted if input.requester.jurisdiction == input.provider.jurisdiction

jurisdiction_permitted if {
	some pair in cfg.cross_border
	pair.provider == input.provider.jurisdiction
	pair.requester == input.requester.jurisdiction
}

# Minimisation: per category, the field paths this purpose may receive.
# A category without a non-empty list is not reachable for the purpose.
purpose_fields := cfg.fields[input.purpose]

# Categories that need the subject's consent. Natural persons always do.
consent_needed contains c.name if {
	purpose.consent == true
	some c in input.categories
	c.level == "authorised"
}

consent_needed contains c.name if {
	input.subject.type == "person"
	some c in input.categories
}

# Categories the consent covers: a consent present, with uses left, given
# to this requester for this purpose (no consent_faults).
consented contains name if {
	k := input.consent
	k.present == true
	k.uses_left >= 1
	k.requester == input.requester.id
	k.purpose == input.purpose
	some name in k.categories
}

# Categories the special approval covers.
approved contains name if {
	a := input.approval
	a.present == true
	a.subject == input.subject.id
	a.requester == input.requester.id
	a.purpose == input.purpose
	some name in a.categories
}

# Requested categories the provider knows and the purpose has fields for.
available contains c.name if {
	known := cfg.categories
	pf := purpose_fields
	some c in input.categories
	known[c.name]
	count(pf[c.name]) > 0
}

# The positive grant for each category's level; absent when not granted.
grant[c.name] := "level_public" if {
	some c in input.categories
	c.level == "public"
}

grant[c.name] := "statutory_purpose" if {
	some c in input.categories
	c.level == "shared"
	statutory_access
}

grant[c.name] := "consent_covers" if {
	some c in input.categories
	c.level == "authorised"
	purpose.consent == true
	c.name in consented
}

grant[c.name] := "approval_covers" if {
	some c in input.categories
	c.level == "restricted"
	c.name in approved
}

# Whether the subject's type allows the categories: a person's need consent.
subject_permits if input.subject.type == "enterprise"

subject_permits if {
	input.subject.type == "person"
	count(requested - consented) == 0
}

# ---------------------------------------------------------------------------
# What an allow carries.

allow_reasons contains "purpose_permitted"

allow_reasons contains r if some r in grant

allow_reasons contains "consent_covers" if input.subject.type == "person"

allow_reasons contains "jurisdiction_cross_border" if not input.requester.jurisdiction == input.provider.jurisdiction

fields := object.filter(purpose_fields, requested)

obligations := object.union(base, conditional_obligations) if {
	p := purpose

	# withhold_repaired: records whose repair was approved are withheld from
	# the purposes data.json lists (the provider drops them before projection).
	base := {
		"retention_days": p.retention_days,
		"retain_until": time.format(time.add_date(now_ns, 0, 0, p.retention_days)),
		"purpose_bound": true,
		"onward_transfer": false,
		"negative_info_years": cfg.negative_info_years,
		"withhold_repaired": input.purpose in object.get(cfg, "repair_withheld_purposes", []),
	}
}

# The caller spends one use of the consent when the allow relies on it.
conditional_obligations["consume_consent"] := input.consent.id if consent_used

# Data date range (fair use): the provider drops records dated outside
# [data_from, data_to] (both inclusive, YYYY-MM-DD; either may be absent).
# The bounds are the consent's own, when the query relies on the consent,
# narrowed by the purpose's max_data_days look-back from the query date.
# Dates in one layout compare as strings.
conditional_obligations["data_from"] := max(bounds) if {
	bounds := data_from_bounds
	count(bounds) > 0
}

conditional_obligations["data_to"] := input.consent.data_to if {
	not object.get(input.consent, "data_to", "") == ""
	consent_used
}

data_from_bounds contains input.consent.data_from if {
	not object.get(input.consent, "data_from", "") == ""
	consent_used
}

data_from_bounds contains time.format([now_ns - (f.max_data_days * 86400) * 1000000000, "UTC", "2006-01-02"]) if {
	f := fair
	is_number(f.max_data_days)
}

# An allow relies on the consent exactly when it grants a category on it or
# the subject is a person: reason consent_covers. (Only meaningful, and only
# evaluated, for an allow.)
consent_used if "consent_covers" in allow_reasons
