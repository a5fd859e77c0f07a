# Unit tests for creditnode.authz. The expected outcomes below are written
# out independently of data.json: they are the specification the data and
# rules must meet, not a copy of them.
package creditnode.authz_test

import data.creditnode.authz

all_roles := ["bank", "bureau", "department", "registrar", "regulator"]

all_levels := ["public", "shared", "authorised", "restricted"]

consent_levels := {"public", "authorised", "restricted"}

statutory_levels := {"public", "shared", "restricted"}

# Who may use each purpose, and which levels it reaches with full credentials.
expected := {
	"loan_approval": {"roles": {"bank"}, "levels": consent_levels},
	"post_loan_management": {"roles": {"bank"}, "levels": consent_levels},
	"guarantee_review": {"roles": {"bank"}, "levels": consent_levels},
	"self_query": {"roles": {"bank", "bureau"}, "levels": consent_levels},
	"joint_modeling": {"roles": {"bank", "bureau"}, "levels": consent_levels},
	"administrative_supervision": {"roles": {"department", "regulator"}, "levels": statutory_levels},
	"licensing_review": {"roles": {"department", "registrar"}, "levels": statutory_levels},
	"procurement_review": {"roles": {"department"}, "levels": statutory_levels},
	"joint_punishment_check": {"roles": {"department", "registrar", "regulator"}, "levels": statutory_levels},
	"judicial_enforcement": {"roles": {"department"}, "levels": statutory_levels},
}

# ---------------------------------------------------------------------------
# Input builders.

t0 := "2026-03-01T10:00:00Z"

no_consent := {"present": false, "id": "", "requester": "", "purpose": "", "categories": [], "uses_left": 0}

no_approval := {"present": false, "id": "", "purpose": "", "categories": [], "requester": "", "subject": ""}

consent_for(purpose, cats) := {
	"present": true, "id": "consent-1", "requester": "node-req", "purpose": purpose,
	"categories": cats, "uses_left": 2,
}

approval_for(purpose, cats) := {
	"present": true, "id": "approval-1", "purpose": purpose, "categories": cats,
	"requester": "node-req", "subject": "91350100M000100Y43",
}

request(role, purpose, cats, consent, approval, subject_type) := {
	"requester": {"id": "node-req", "organisation": "Requester", "roles": [role], "jurisdiction": "CN"},
	"provider": {"id": "node-prov", "jurisdiction": "CN"},
	"subject": {"id": "91350100M000100Y43", "type": subject_type},
	"purpose": purpose,
	"categories": cats,
	"consent": consent,
	"approval": approval,
	"time": t0,
}

# One category with credentials covering it (used or not).
credentialed(role, purpose, level, subject_type) := request(
	role, purpose, [{"name": "registration", "level": level}],
	consent_for(purpose, ["registration"]), approval_for(purpose, ["registration"]), subject_type,
)

bare(role, purpose, level, subject_type) := request(
	role, purpose, [{"name": "registration", "level": level}],
	no_consent, no_approval, subject_type,
)

# The bank loan request the targeted tests vary.
loan := request(
	"bank", "loan_approval",
	[{"name": "registration", "level": "public"}, {"name": "tax_payment", "level": "authorised"}],
	consent_for("loan_approval", ["tax_payment"]), no_approval, "enterprise",
)

built("bare", r, p, l, subject_type) := bare(r, p, l, subject_type)

built("credentialed", r, p, l, subject_type) := credentialed(r, p, l, subject_type)

outcome(d) := "allow" if d.allow == true

outcome(d) := d.code if d.allow == false

# ---------------------------------------------------------------------------
# The role × purpose × level matrix: 5 × 10 × 4 = 200 cells, each run with
# full credentials and without, for an enterprise and for a person.

cells := [[role, purpose, level] |
	some purpose, _ in expected
	some role in all_roles
	some level in all_levels
]

test_matrix_has_every_cell if {
	count(cells) == 200
	count({p | some [_, p, _] in cells}) == count(object.keys(data.creditnode.config.purposes))
}

# With credentials covering everything, only role and level decide.
want_credentialed(role, purpose, _) := "purpose_not_permitted" if not role in expected[purpose].roles

want_credentialed(role, purpose, level) := "level_not_permitted" if {
	role in expected[purpose].roles
	not level in expected[purpose].levels
}

want_credentialed(role, purpose, level) := "allow" if {
	role in expected[purpose].roles
	level in expected[purpose].levels
}

# Without credentials, authorised and restricted levels are denied for the
# missing consent or approval (consent_* ranks above level_not_permitted).
want_bare(role, purpose, _) := "purpose_not_permitted" if not role in expected[purpose].roles

want_bare(role, purpose, level) := w if {
	role in expected[purpose].roles
	w := {
		"public": "allow",
		"shared": shared_outcome(purpose),
		"authorised": authorised_outcome(purpose),
		"restricted": "approval_missing",
	}[level]
}

shared_outcome(purpose) := "allow" if "shared" in expected[purpose].levels

shared_outcome(purpose) := "level_not_permitted" if not "shared" in expected[purpose].levels

authorised_outcome(purpose) := "consent_missing" if "authorised" in expected[purpose].levels

authorised_outcome(purpose) := "level_not_permitted" if not "authorised" in expected[purpose].levels

# A natural person always needs consent: without one, every permitted
# role is denied for the missing consent.
want_person_bare(role, purpose, _) := "purpose_not_permitted" if not role in expected[purpose].roles

want_person_bare(role, purpose, _) := "consent_missing" if role in expected[purpose].roles

# Each matrix test collects the cells whose outcome differs from the oracle,
# as [role, purpose, level, got, want], so a failure names them. (One rule per
# cell as a table test would trace every evaluation and run ~50x slower.)
test_matrix_enterprise_with_credentials if {
	mismatches := [[r, p, l, got, want] |
		some [r, p, l] in cells
		got := outcome(authz.decision) with input as credentialed(r, p, l, "enterprise")
		want := want_credentialed(r, p, l)
		got != want
	]
	mismatches == []
}

test_matrix_person_with_consent if {
	mismatches := [[r, p, l, got, want] |
		some [r, p, l] in cells
		got := outcome(authz.decision) with input as credentialed(r, p, l, "person")
		want := want_credentialed(r, p, l)
		got != want
	]
	mismatches == []
}

test_matrix_enterprise_without_credentials if {
	mismatches := [[r, p, l, got, want] |
		some [r, p, l] in cells
		got := outcome(authz.decision) with input as bare(r, p, l, "enterprise")
		want := want_bare(r, p, l)
		got != want
	]
	mismatches == []
}

test_matrix_person_without_consent if {
	mismatches := [[r, p, l, got, want] |
		some [r, p, l] in cells
		got := outcome(authz.decision) with input as bare(r, p, l, "person")
		want := want_person_bare(r, p, l)
		got != want
	]
	mismatches == []
}

# Every cell must yield exactly one defined outcome.
test_matrix_every_cell_decided if {
	decided := [1 |
		some [r, p, l] in cells
		some subject_type in ["enterprise", "person"]
		some build in ["bare", "credentialed"]
		outcome(authz.decision) with input as built(build, r, p, l, subject_type)
	]
	count(decided) == 4 * count(cells)
}

# Sanity check on the oracle itself: it allows and denies in every column.
test_matrix_oracle_is_not_trivial if {
	outcomes := {want_credentialed(r, p, l) | some [r, p, l] in cells}
	outcomes == {"allow", "purpose_not_permitted", "level_not_permitted"}
	count([1 | some [r, p, l] in cells; want_credentialed(r, p, l) == "allow"]) == 48
}

# ---------------------------------------------------------------------------
# Consent coverage (threats.md item 17).

test_loan_allowed if {
	d := authz.decision with input as loan
	d.allow == true
	d.reasons == ["consent_covers", "level_public", "purpose_permitted"]
	not d.code
	d.obligations.consume_consent == "consent-1"
}

consent_cases := {
	"missing": {"consent": no_consent, "code": "consent_missing"},
	"other purpose": {"consent": consent_for("guarantee_review", ["tax_payment"]), "code": "consent_wrong_purpose"},
	"other requester": {"consent": object.union(consent_for("loan_approval", ["tax_payment"]), {"requester": "node-other"}), "code": "consent_wrong_requester"},
	"other category": {"consent": consent_for("loan_approval", ["customs"]), "code": "consent_wrong_category"},
	"used up": {"consent": object.union(consent_for("loan_approval", ["tax_payment"]), {"uses_left": 0}), "code": "consent_exhausted"},
}

test_consent_not_covering[note] if {
	some note, tc in consent_cases
	d := authz.decision with input as object.union(loan, {"consent": tc.consent})
	d.allow == false
	d.code == tc.code
	d.reasons == [tc.code]
	not d.fields
}

test_consent_faults_reported_together if {
	k := object.union(consent_for("guarantee_review", ["customs"]), {"requester": "node-other"})
	d := authz.decision with input as object.union(loan, {"consent": k})
	d.code == "consent_wrong_requester"
	d.reasons == ["consent_wrong_category", "consent_wrong_purpose", "consent_wrong_requester"]
}

test_consent_not_needed_for_public_enterprise_data if {
	req := object.union(loan, {"categories": [{"name": "registration", "level": "public"}], "consent": no_consent})
	d := authz.decision with input as req
	d.allow == true
	not d.obligations.consume_consent
}

test_person_public_data_needs_consent if {
	req := request("bank", "loan_approval", [{"name": "registration", "level": "public"}], no_consent, no_approval, "person")
	d := authz.decision with input as req
	d.code == "consent_missing"
}

test_person_allowed_reports_consent if {
	req := request("department", "judicial_enforcement", [{"name": "judicial_enforcement", "level": "shared"}], consent_for("judicial_enforcement", ["judicial_enforcement"]), no_approval, "person")
	d := authz.decision with input as req
	d.allow == true
	d.reasons == ["consent_covers", "purpose_permitted", "statutory_purpose"]
	d.obligations.consume_consent == "consent-1"
}

# ---------------------------------------------------------------------------
# Special approval for restricted categories.

restricted_loan := object.union(loan, {
	"categories": [{"name": "judicial_enforcement", "level": "restricted"}],
	"approval": approval_for("loan_approval", ["judicial_enforcement"]),
})

test_approval_covers if {
	d := authz.decision with input as restricted_loan
	d.allow == true
	d.reasons == ["approval_covers", "purpose_permitted"]
}

approval_cases := {
	"absent": {"approval": no_approval, "code": "approval_missing"},
	"other subject": {"approval": object.union(approval_for("loan_approval", ["judicial_enforcement"]), {"subject": "91110000100000000X"}), "code": "approval_wrong_subject"},
	"other requester": {"approval": object.union(approval_for("loan_approval", ["judicial_enforcement"]), {"requester": "node-other"}), "code": "approval_wrong_requester"},
	"other purpose": {"approval": approval_for("guarantee_review", ["judicial_enforcement"]), "code": "approval_wrong_purpose"},
	"other category": {"approval": approval_for("loan_approval", ["customs"]), "code": "approval_wrong_category"},
}

test_approval_not_covering[note] if {
	some note, tc in approval_cases
	d := authz.decision with input as object.union(restricted_loan, {"approval": tc.approval})
	d.allow == false
	d.code == tc.code
	d.reasons == [tc.code]
	not d.fields
}

test_approval_faults_reported_together if {
	a := object.union(approval_for("guarantee_review", ["customs"]), {"requester": "node-other"})
	d := authz.decision with input as object.union(restricted_loan, {"approval": a})
	d.code == "approval_wrong_requester"
	d.reasons == ["approval_wrong_category", "approval_wrong_purpose", "approval_wrong_requester"]
}

# ---------------------------------------------------------------------------
# All or nothing, unknown things, jurisdictions, precedence.

test_one_denied_category_denies_all if {
	req := object.union(loan, {"categories": array.concat(loan.categories, [{"name": "customs", "level": "restricted"}])})
	d := authz.decision with input as req
	d.allow == false
	d.code == "approval_missing"
	not d.fields
}

test_unknown_purpose if {
	d := authz.decision with input as object.union(loan, {"purpose": "marketing"})
	d.code == "purpose_unknown"
	d.reasons == ["purpose_unknown"]
}

test_empty_purpose_is_unknown if {
	d := authz.decision with input as object.union(loan, {"purpose": ""})
	d.code == "purpose_unknown"
}

test_unknown_category if {
	req := object.union(loan, {"categories": [{"name": "medical", "level": "public"}]})
	d := authz.decision with input as req
	d.code == "category_unknown"
}

test_category_provider_lacks if {
	req := object.union(loan, {"categories": [{"name": "customs", "level": ""}]})
	d := authz.decision with input as req
	d.code == "category_unknown"
	d.reasons == ["category_unknown"]
}

test_category_not_needed_for_purpose if {
	# joint punishment checks have no use for utility bills
	req := request("department", "joint_punishment_check", [{"name": "utility_payment", "level": "public"}], no_consent, no_approval, "enterprise")
	d := authz.decision with input as req
	d.code == "level_not_permitted"
}

jurisdiction_cases := {
	"same": {"requester": "CN", "provider": "CN", "allow": true},
	"listed pair": {"requester": "CN", "provider": "HK", "allow": true},
	"reverse of pair": {"requester": "HK", "provider": "CN", "allow": false},
	"unlisted": {"requester": "SG", "provider": "CN", "allow": false},
}

test_jurisdiction[note] if {
	some note, tc in jurisdiction_cases
	req := object.union(loan, {
		"requester": object.union(loan.requester, {"jurisdiction": tc.requester}),
		"provider": object.union(loan.provider, {"jurisdiction": tc.provider}),
	})
	d := authz.decision with input as req
	d.allow == tc.allow
	jurisdiction_reason_ok(d, tc)
}

jurisdiction_reason_ok(d, tc) if {
	tc.allow
	tc.requester == tc.provider
	not "jurisdiction_cross_border" in d.reasons
}

jurisdiction_reason_ok(d, tc) if {
	tc.allow
	tc.requester != tc.provider
	"jurisdiction_cross_border" in d.reasons
}

jurisdiction_reason_ok(d, tc) if {
	not tc.allow
	d.code == "jurisdiction_not_permitted"
}

test_precedence_keeps_all_reasons_sorted if {
	req := object.union(loan, {
		"requester": object.union(loan.requester, {"roles": ["department"], "jurisdiction": "SG"}),
		"consent": no_consent,
	})
	d := authz.decision with input as req
	d.code == "purpose_not_permitted"
	d.reasons == ["consent_missing", "jurisdiction_not_permitted", "purpose_not_permitted"]
}

test_precedence_list_is_complete if {
	# every code the policy can emit has a rank
	codes := {"malformed_input", "purpose_unknown", "purpose_not_permitted", "jurisdiction_not_permitted",
		"category_unknown", "consent_missing", "consent_exhausted", "consent_wrong_requester",
		"consent_wrong_purpose", "consent_wrong_category", "consent_validity_exceeded",
		"consent_uses_exceeded", "query_limit_exceeded", "approval_missing", "approval_wrong_subject",
		"approval_wrong_requester", "approval_wrong_purpose", "approval_wrong_category", "level_not_permitted"}
	{c | some c in authz.precedence} == codes
	count(authz.precedence) == count(codes)
}

test_rank_is_precedence if {
	count(authz.rank) == count(authz.precedence)
	every i, c in authz.precedence {
		authz.rank[c] == i
	}
}

test_multiple_roles_any_permits if {
	req := object.union(loan, {"requester": object.union(loan.requester, {"roles": ["bureau", "bank"]})})
	d := authz.decision with input as req
	d.allow == true
}

test_shared_needs_public_body_role if {
	# a bank cannot reach shared data even under its own purposes
	d := authz.decision with input as credentialed("bank", "loan_approval", "shared", "enterprise")
	d.code == "level_not_permitted"
}

# ---------------------------------------------------------------------------
# Obligations.

test_obligations_retention if {
	d := authz.decision with input as loan
	d.obligations.retention_days == 1825
	d.obligations.retain_until == "2031-02-28T10:00:00Z"
	d.obligations.purpose_bound == true
	d.obligations.onward_transfer == false
}

test_denied_has_no_obligations if {
	d := authz.decision with input as object.union(loan, {"consent": no_consent})
	d.obligations == {}
}

# ---------------------------------------------------------------------------
# Malformed input: always a defined deny (threats.md item 15). The Go tests
# run many more mutations.

malformed_cases := {
	"no input": null,
	"number": 42,
	"empty object": {},
	"null purpose": object.union(loan, {"purpose": null}),
	"numeric purpose": object.union(loan, {"purpose": 7}),
	"no categories": object.remove(loan, ["categories"]),
	"empty categories": object.union(loan, {"categories": []}),
	"duplicate category": object.union(loan, {"categories": [{"name": "registration", "level": "public"}, {"name": "registration", "level": "public"}]}),
	"bad level": object.union(loan, {"categories": [{"name": "registration", "level": "open"}]}),
	"roles not a list": object.union(loan, {"requester": object.union(loan.requester, {"roles": "bank"})}),
	"present as string": object.union(loan, {"consent": object.union(loan.consent, {"present": "true"})}),
	"person type unknown": object.union(loan, {"subject": {"id": "x", "type": "robot"}}),
	"bad time": object.union(loan, {"time": "yesterday"}),
	"no approval": object.remove(loan, ["approval"]),
}

test_malformed_input_denied[note] if {
	some note, req in malformed_cases
	d := authz.decision with input as req
	d.allow == false
	d.code == "malformed_input"
	d.reasons == ["malformed_input"]
}

# ---------------------------------------------------------------------------
# allow is decided from positive evidence and the denial codes only on a
# deny: over every matrix cell, with and without credentials, for both
# subject types, and for each targeted case, the two must agree.
agreement_inputs := array.concat(
	[built(k, r, p, l, st) |
		some [r, p, l] in cells
		some k in ["bare", "credentialed"]
		some st in ["enterprise", "person"]
	],
	array.concat(
		[object.union(loan, {"consent": tc.consent}) | some tc in consent_cases],
		[object.union(restricted_loan, {"approval": tc.approval}) | some tc in approval_cases],
	),
)

test_allow_agrees_with_checks if {
	disagreements := [[i, d.allow, checks] |
		some i, req in agreement_inputs
		d := authz.decision with input as req
		checks := authz.checks with input as req
		d.allow != (count(checks) == 0)
	]
	disagreements == []
	count(agreement_inputs) > 800
}
