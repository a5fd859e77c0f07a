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
#   absence of a positive grant for every category (`allow`). Both must agree
#   before anything is allowed, so a hole in one cannot open access.
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
	"approval_missing",
	"level_not_permitted",
]

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

code := [c | some c in precedence; c in denials][0]

denials := {"malformed_input"} if not well_formed

denials := checks if well_formed

# allow needs positive evidence for every category, and no denial at all.
allow if {
	well_formed
	purpose_known
	role_permitted
	jurisdiction_permitted
	count(checks) == 0
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
	string_array(r.roles)
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
	cs := input.categories
	is_array(cs)
	count(cs) > 0
	names := {c.name | some c in cs}
	count(names) == count(cs)
	string_array([c.name | some c in cs])
	not "" in names
	levels := [c.level | some c in cs]
	count(levels) == count(cs)
	every level in levels {
		level in level_values
	}

	# Consent and approval are always fully typed; a present one has an id.
	k := input.consent
	is_string(k.id)
	is_string(k.requester)
	is_string(k.purpose)
	string_array(k.categories)
	is_number(k.uses_left)
	present_has_id(k)

	a := input.approval
	is_string(a.id)
	is_string(a.purpose)
	string_array(a.categories)
	is_string(a.requester)
	is_string(a.subject)
	present_has_id(a)

	time.parse_rfc3339_ns(input.time)
}

level_values := known_levels | {""}

# concat is undefined unless every element is a string.
string_array(xs) if {
	is_array(xs)
	concat(",", xs)
}

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

category_faults contains [c.name, "approval_missing"] if {
	some c in considered
	c.level == "restricted"
	not c.name in approved
}

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
	c.name in subject_cleared
	has_fields(c.name)
}

# Categories the subject's type allows: a person's need consent.
subject_cleared contains c.name if {
	input.subject.type == "enterprise"
	some c in input.categories
}

subject_cleared contains name if {
	input.subject.type == "person"
	some name in consented
}

# ---------------------------------------------------------------------------
# What an allow carries.

allow_reasons := ((({r | some r in grant} | person_reasons) | cross_border_reasons) | {"purpose_permitted"})

person_reasons := {"consent_covers"} if input.subject.type == "person"

person_reasons := set() if input.subject.type != "person"

cross_border_reasons := {"jurisdiction_cross_border"} if cross_border

cross_border_reasons := set() if not cross_border

fields := {c.name: purpose_fields[c.name] | some c in input.categories}

obligations := object.union(base_obligations, consent_obligations)

base_obligations := {
	"retention_days": purpose.retention_days,
	"retain_until": time.format(time.add_date(time.parse_rfc3339_ns(input.time), 0, 0, purpose.retention_days)),
	"purpose_bound": true,
	"onward_transfer": false,
	"negative_info_years": cfg.negative_info_years,
}

# The caller spends one use of the consent when this is present.
consent_obligations := {"consume_consent": input.consent.id} if count(consent_needed) > 0

consent_obligations := {} if count(consent_needed) == 0
