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
package creditnode.authz

cfg := data.creditnode.config

known_levels := {"public", "shared", "authorised", "restricted"}

subject_types := {"enterprise", "person"}

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

# The first code of precedence among the denials. A lookup per denial (a
# deny has one to a few) rather than a scan of the whole list per request;
# rank is precedence as an object, and a test checks that they agree.
code := c if {
	some c in denials
	rank[c] == min({rank[d] | some d in denials})
}

denials := {"malformed_input"} if not well_formed

denials := checks if well_formed

# allow needs positive evidence for every category and no fair-use limit
# exceeded. The denial codes (checks) are evaluated only on a deny: that
# every allow has no check, and every deny at least one, is asserted for
# every cell of the test matrix (authz_test.rego, test_allow_agrees_with_checks),
# and a deny without a code falls to the default decision (policy_denied).
allow if {
	well_formed
	purpose_known
	role_permitted
	jurisdiction_permitted
	count(fair_use_faults) == 0
	count(cleared) == count(input.categories)
}

# ---------------------------------------------------------------------------
# Input shape. Anything missing, null or of the wrong type is malformed.
# Kept to few helper calls: this rule runs on every request.

well_formed if {
	is_object(input)

	r := input.requester
	is_string(r.id)
	r.id != ""
	is_string(r.organisation)
	is_array(r.roles)
	concat(",", r.roles) # undefined unless every role is a string
	is_string(r.jurisdiction)
	r.jurisdiction != ""

	is_string(input.provider.id)
	input.provider.id != ""
	is_string(input.provider.jurisdiction)
	input.provider.jurisdiction != ""

	is_string(input.subject.id)
	input.subject.id != ""
	input.subject.type in subject_types

	is_string(input.purpose)

	# Categories: a non-empty array of objects with unique non-empty names
	# and known levels ("" means the provider lacks the category).
	# One comprehension: an entry that is not an object, has a missing,
	# empty or non-string name, or an unknown level, or repeats a name,
	# makes the set smaller than the array.
	cs := input.categories
	is_array(cs)
	count(cs) > 0
	valid := {c.name |
		some c in cs
		is_string(c.name)
		c.name != ""
		c.level in level_values
	}
	count(valid) == count(cs)

	# Consent and approval are always fully typed; a present one has an id.
	k := input.consent
	is_string(k.id)
	is_string(k.requester)
	is_string(k.purpose)
	is_array(k.categories)
	concat(",", k.categories)
	is_number(k.uses_left)
	present_has_id(k)

	# Fair-use facts are optional (zero means unknown); when present, numbers.
	is_number(object.get(k, "nbf", 0))
	is_number(object.get(k, "exp", 0))
	is_number(object.get(k, "max_uses", 0))
	is_number(object.get(object.get(input, "usage", {}), "queries_in_period", 0))
	optional_date(object.get(k, "data_from", ""))
	optional_date(object.get(k, "data_to", ""))

	a := input.approval
	is_string(a.id)
	is_string(a.purpose)
	is_array(a.categories)
	concat(",", a.categories)
	is_string(a.requester)
	is_string(a.subject)
	present_has_id(a)

	now_ns
}

now_ns := time.parse_rfc3339_ns(input.time)

level_values := known_levels | {""}

# A data-range bound is "" (open, or absent) or a YYYY-MM-DD date.
optional_date("")

optional_date(d) if regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, d)

present_has_id(x) if x.present == false

present_has_id(x) if {
	x.present == true
	is_string(x.id)
	x.id != ""
}

# ---------------------------------------------------------------------------
# Checks: every reason to deny, as wire codes.

checks contains "purpose_unknown" if not purpose_known

checks contains "purpose_not_permitted" if {
	purpose_known
	not role_permitted
}

checks contains "jurisdiction_not_permitted" if not jurisdiction_permitted

checks contains fault if some [_, fault] in category_faults

# Per category: [name, code]. Kept as pairs so a later explain can say which
# category failed.
category_faults contains [c.name, "category_unknown"] if {
	some c in input.categories
	not cfg.categories[c.name]
}

category_faults contains [c.name, "category_unknown"] if {
	some c in input.categories
	c.level == ""
}

category_faults contains [c.name, "level_not_permitted"] if {
	some c in considered
	not c.level in reachable_levels
}

# Minimisation: a purpose with no field list for a category may not reach it.
category_faults contains [c.name, "level_not_permitted"] if {
	some c in considered
	not has_fields(c.name)
}

category_faults contains [c.name, fault] if {
	some c in considered
	c.name in consent_needed
	some fault in consent_faults
}

category_faults contains [c.name, "consent_wrong_category"] if {
	some c in considered
	c.name in consent_needed
	input.consent.present == true
	not c.name in input.consent.categories
}

# A restricted category needs a special approval covering it; each way the
# approval falls short has its own code (the signature, the regulator role
# and the validity window were checked by the caller).
category_faults contains [c.name, "approval_missing"] if {
	some c in considered
	c.level == "restricted"
	not input.approval.present == true
}

category_faults contains [c.name, fault] if {
	some c in considered
	c.level == "restricted"
	input.approval.present == true
	some fault in approval_faults
}

category_faults contains [c.name, "approval_wrong_category"] if {
	some c in considered
	c.level == "restricted"
	input.approval.present == true
	not c.name in input.approval.categories
}

approval_faults contains "approval_wrong_subject" if input.approval.subject != input.subject.id

approval_faults contains "approval_wrong_requester" if input.approval.requester != input.requester.id

approval_faults contains "approval_wrong_purpose" if input.approval.purpose != input.purpose

# Categories judged against the purpose: known ones, once the purpose is known.
considered contains c if {
	purpose_known
	some c in input.categories
	cfg.categories[c.name]
	c.level != ""
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

checks contains fault if some fault in fair_use_faults

fair_use_faults contains "consent_validity_exceeded" if {
	input.consent.present == true
	input.consent.exp > 0
	input.consent.exp - input.consent.nbf > fair.max_consent_days * 86400
}

fair_use_faults contains "consent_uses_exceeded" if {
	input.consent.present == true
	input.consent.max_uses > fair.max_uses
}

# queries_in_period counts earlier allowed queries: this one would be one more.
fair_use_faults contains "query_limit_exceeded" if {
	input.usage.queries_in_period >= fair.max_queries_per_period
}

# ---------------------------------------------------------------------------
# Building blocks.

purpose := cfg.purposes[input.purpose]

purpose_known if purpose

role_permitted if {
	some role in input.requester.roles
	role in purpose.roles
}

# Shared data goes to public bodies acting under a statutory purpose.
statutory_access if {
	purpose.statutory == true
	some role in input.requester.roles
	role in purpose.roles
	role in cfg.shared_roles
}

jurisdiction_permitted if input.requester.jurisdiction == input.provider.jurisdiction

jurisdiction_permitted if {
	some pair in cfg.cross_border
	pair.provider == input.provider.jurisdiction
	pair.requester == input.requester.jurisdiction
}

cross_border if input.requester.jurisdiction != input.provider.jurisdiction

# Levels this purpose can reach at all, given the requester's roles.
reachable_levels contains "public"

reachable_levels contains "restricted"

reachable_levels contains "shared" if statutory_access

reachable_levels contains "authorised" if purpose.consent == true

# Minimisation: per category, the field paths this purpose may receive.
# A category without a non-empty list is not reachable for the purpose.
purpose_fields := cfg.fields[input.purpose]

has_fields(name) if count(purpose_fields[name]) > 0

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

# Categories the consent covers, once it is good for requester and purpose.
consented contains name if {
	input.consent.present == true
	count(consent_faults) == 0
	some name in input.consent.categories
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

# The positive grant for each category's level; absent when not granted.
grant[c.name] := "level_public" if {
	some c in input.categories
	c.level == "public"
}

grant[c.name] := "statutory_purpose" if {
	statutory_access
	some c in input.categories
	c.level == "shared"
}

grant[c.name] := "consent_covers" if {
	purpose.consent == true
	some c in input.categories
	c.level == "authorised"
	c.name in consented
}

grant[c.name] := "approval_covers" if {
	some c in input.categories
	c.level == "restricted"
	c.name in approved
}

# Categories with positive evidence on every count.
cleared contains c.name if {
	some c in input.categories
	cfg.categories[c.name]
	grant[c.name]
	subject_permits(c.name)
	has_fields(c.name)
}

# Whether the subject's type allows the category: a person's need consent.
subject_permits(_) if input.subject.type == "enterprise"

subject_permits(name) if {
	input.subject.type == "person"
	name in consented
}

# ---------------------------------------------------------------------------
# What an allow carries.

allow_reasons := ((({r | some r in grant} | person_reasons) | cross_border_reasons) | {"purpose_permitted"})

person_reasons := {"consent_covers"} if input.subject.type == "person"

person_reasons := set() if input.subject.type != "person"

cross_border_reasons := {"jurisdiction_cross_border"} if cross_border

cross_border_reasons := set() if not cross_border

fields := {c.name: purpose_fields[c.name] | some c in input.categories}

obligations := object.union(object.union(base_obligations, consent_obligations), data_range_obligations)

base_obligations := {
	"retention_days": purpose.retention_days,
	"retain_until": time.format(time.add_date(now_ns, 0, 0, purpose.retention_days)),
	"purpose_bound": true,
	"onward_transfer": false,
	"negative_info_years": cfg.negative_info_years,
	"withhold_repaired": withhold_repaired,
}

# Credit repair: records whose repair was approved are withheld from the
# purposes data.json lists (the provider drops them before projection).
default withhold_repaired := false

withhold_repaired if input.purpose in cfg.repair_withheld_purposes

# Data date range (fair use): the provider drops records dated outside
# [data_from, data_to] (both inclusive, YYYY-MM-DD; either may be absent).
# The bounds are the consent's own, when the query relies on the consent,
# narrowed by the purpose's max_data_days look-back from the query date.
# Dates in one layout compare as strings.
data_from_bounds contains input.consent.data_from if {
	count(consent_needed) > 0
	object.get(input.consent, "data_from", "") != ""
}

data_from_bounds contains time.format([now_ns - (fair.max_data_days * 86400) * 1000000000, "UTC", "2006-01-02"]) if {
	is_number(fair.max_data_days)
}

data_to_bounds contains input.consent.data_to if {
	count(consent_needed) > 0
	object.get(input.consent, "data_to", "") != ""
}

default data_range_obligations := {}

data_range_obligations := object.union(data_from_obligation, data_to_obligation) if data_range_applies

# Cheap test first: most queries have neither a range nor a cap.
data_range_applies if is_number(fair.max_data_days)

data_range_applies if input.consent.data_from != ""

data_range_applies if input.consent.data_to != ""

data_from_obligation := {"data_from": max(data_from_bounds)} if count(data_from_bounds) > 0

data_from_obligation := {} if count(data_from_bounds) == 0

data_to_obligation := {"data_to": min(data_to_bounds)} if count(data_to_bounds) > 0

data_to_obligation := {} if count(data_to_bounds) == 0

# The caller spends one use of the consent when this is present.
consent_obligations := {"consume_consent": input.consent.id} if count(consent_needed) > 0

consent_obligations := {} if count(consent_needed) == 0
