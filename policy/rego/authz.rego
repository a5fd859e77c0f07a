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
	every c in input.categories {
		known_category(c)
		level_grant(c)
		subject_permitted(c)
		purpose_fields(c.name)
	}
}

# ---------------------------------------------------------------------------
# Input shape. Anything missing, null or of the wrong type is malformed.

well_formed if {
	is_object(input)
	valid_requester
	valid_provider
	valid_subject
	is_string(input.purpose)
	valid_categories
	valid_consent
	valid_approval
	time.parse_rfc3339_ns(input.time)
}

non_empty_string(x) if {
	is_string(x)
	x != ""
}

string_array(xs) if {
	is_array(xs)
	every x in xs {
		is_string(x)
	}
}

valid_requester if {
	r := input.requester
	non_empty_string(r.id)
	is_string(r.organisation)
	string_array(r.roles)
	non_empty_string(r.jurisdiction)
}

valid_provider if {
	non_empty_string(input.provider.id)
	non_empty_string(input.provider.jurisdiction)
}

valid_subject if {
	non_empty_string(input.subject.id)
	input.subject.type in subject_types
}

valid_categories if {
	cs := input.categories
	is_array(cs)
	count(cs) > 0
	every c in cs {
		non_empty_string(c.name)
		is_string(c.level)
		valid_level(c.level)
	}
	count({c.name | some c in cs}) == count(cs)
}

# "" means the provider has no such category: well formed, but denied.
valid_level("") := true

valid_level(level) if level in known_levels

# Consent and approval are always fully typed; a present one also has an id.
valid_consent if {
	k := input.consent
	is_boolean(k.present)
	is_string(k.id)
	is_string(k.requester)
	is_string(k.purpose)
	string_array(k.categories)
	is_number(k.uses_left)
	present_has_id(k)
}

valid_approval if {
	a := input.approval
	is_boolean(a.present)
	is_string(a.id)
	is_string(a.purpose)
	string_array(a.categories)
	is_string(a.requester)
	is_string(a.subject)
	present_has_id(a)
}

present_has_id(x) if x.present == false

present_has_id(x) if {
	x.present == true
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
	not known_category(c)
}

category_faults contains [c.name, "level_not_permitted"] if {
	some c in considered_categories
	not level_reachable(c.level)
}

# Minimisation: a purpose with no field list for a category may not reach it.
category_faults contains [c.name, "level_not_permitted"] if {
	some c in considered_categories
	not purpose_fields(c.name)
}

category_faults contains [c.name, fault] if {
	some c in considered_categories
	needs_consent(c)
	some fault in consent_faults
}

category_faults contains [c.name, "consent_wrong_category"] if {
	some c in considered_categories
	needs_consent(c)
	input.consent.present == true
	not c.name in input.consent.categories
}

category_faults contains [c.name, "approval_missing"] if {
	some c in considered_categories
	c.level == "restricted"
	not approval_covers(c.name)
}

# Categories judged against the purpose: known ones, once the purpose is known.
considered_categories contains c if {
	purpose_known
	some c in input.categories
	known_category(c)
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

known_category(c) if {
	cfg.categories[c.name]
	c.level != ""
}

level_reachable("public") := true

level_reachable("shared") if statutory_access

level_reachable("authorised") if purpose.consent == true

level_reachable("restricted") := true

# The positive grant for a category's level; undefined when not granted.
level_grant(c) := "level_public" if c.level == "public"

level_grant(c) := "statutory_purpose" if {
	c.level == "shared"
	statutory_access
}

level_grant(c) := "consent_covers" if {
	c.level == "authorised"
	purpose.consent == true
	consent_covers(c.name)
}

level_grant(c) := "approval_covers" if {
	c.level == "restricted"
	approval_covers(c.name)
}

# Natural persons always need consent, whatever the level.
subject_permitted(_) if input.subject.type == "enterprise"

subject_permitted(c) if {
	input.subject.type == "person"
	consent_covers(c.name)
}

needs_consent(c) if {
	c.level == "authorised"
	purpose.consent == true
}

needs_consent(_) if input.subject.type == "person"

consent_covers(name) if {
	input.consent.present == true
	count(consent_faults) == 0
	name in input.consent.categories
}

approval_covers(name) if {
	a := input.approval
	a.present == true
	a.subject == input.subject.id
	a.requester == input.requester.id
	a.purpose == input.purpose
	name in a.categories
}

purpose_fields(name) := paths if {
	paths := cfg.fields[input.purpose][name]
	count(paths) > 0
}

# ---------------------------------------------------------------------------
# What an allow carries.

allow_reasons := (({r | some c in input.categories; r := level_grant(c)} | person_reasons) | cross_border_reasons) | {"purpose_permitted"}

person_reasons := {"consent_covers"} if input.subject.type == "person"

person_reasons := set() if input.subject.type != "person"

cross_border_reasons := {"jurisdiction_cross_border"} if cross_border

cross_border_reasons := set() if not cross_border

fields := {c.name: purpose_fields(c.name) | some c in input.categories}

consent_used if {
	some c in input.categories
	needs_consent(c)
}

obligations := object.union(base_obligations, consent_obligations)

base_obligations := {
	"retention_days": purpose.retention_days,
	"retain_until": time.format(time.add_date(time.parse_rfc3339_ns(input.time), 0, 0, purpose.retention_days)),
	"purpose_bound": true,
	"onward_transfer": false,
	"negative_info_years": cfg.negative_info_years,
}

# The caller spends one use of the consent when this is present.
consent_obligations := {"consume_consent": input.consent.id} if consent_used

consent_obligations := {} if not consent_used
