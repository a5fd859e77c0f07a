# Fair-use limits from data.creditnode.config.fair_use, each at its boundary.
package creditnode.authz_test

import data.creditnode.authz

day := 86400

with_consent(terms) := object.union(loan, {"consent": object.union(loan.consent, terms)})

with_usage(n) := object.union(loan, {"usage": {"queries_in_period": n}})

# Limits as a test fixture, independent of the shipped numbers.
limits := {"loan_approval": {"max_consent_days": 365, "max_uses": 12, "max_queries_per_period": 10, "period_days": 30}}

test_fair_use_validity_at_limit_allowed if {
	d := authz.decision with input as with_consent({"nbf": 1000, "exp": 1000 + 365 * day}) with data.creditnode.config.fair_use as limits
	d.allow == true
}

test_fair_use_validity_one_second_over_denied if {
	d := authz.decision with input as with_consent({"nbf": 1000, "exp": 1001 + 365 * day}) with data.creditnode.config.fair_use as limits
	d.allow == false
	d.code == "consent_validity_exceeded"
}

test_fair_use_max_uses_at_limit_allowed if {
	d := authz.decision with input as with_consent({"max_uses": 12}) with data.creditnode.config.fair_use as limits
	d.allow == true
}

test_fair_use_max_uses_over_denied if {
	d := authz.decision with input as with_consent({"max_uses": 13}) with data.creditnode.config.fair_use as limits
	d.code == "consent_uses_exceeded"
}

test_fair_use_queries_below_limit_allowed if {
	# nine earlier queries: this tenth is the last allowed in the period
	d := authz.decision with input as with_usage(9) with data.creditnode.config.fair_use as limits
	d.allow == true
}

test_fair_use_queries_at_limit_denied if {
	d := authz.decision with input as with_usage(10) with data.creditnode.config.fair_use as limits
	d.allow == false
	d.code == "query_limit_exceeded"
}

test_fair_use_purpose_without_limits_unlimited if {
	req := object.union(
		request("department", "administrative_supervision", [{"name": "registration", "level": "public"}], no_consent, no_approval, "enterprise"),
		{"usage": {"queries_in_period": 100000}},
	)
	d := authz.decision with input as req
	d.allow == true
}

test_fair_use_wrong_types_malformed if {
	every req in [
		with_consent({"nbf": "yesterday"}),
		with_consent({"max_uses": null}),
		object.union(loan, {"usage": {"queries_in_period": "3"}}),
		object.union(loan, {"usage": null}),
	] {
		d := authz.decision with input as req with data.creditnode.config.fair_use as limits
		d.code == "malformed_input"
	}
}
