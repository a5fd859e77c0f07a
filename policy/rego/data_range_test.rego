# The data date range: the consent's bounds, narrowed by the purpose's
# max_data_days look-back, become obligations the provider applies.
package creditnode.authz_test

import data.creditnode.authz

range_limits := {"loan_approval": {"max_data_days": 365}}

with_range(from, to) := object.union(loan, {"consent": object.union(loan.consent, {"data_from": from, "data_to": to})})

test_data_range_from_consent if {
	d := authz.decision with input as with_range("2024-01-01", "2024-12-31")
	d.allow == true
	d.obligations.data_from == "2024-01-01"
	d.obligations.data_to == "2024-12-31"
}

test_data_range_open_bounds_absent if {
	d := authz.decision with input as with_range("", "")
	d.allow == true
	not d.obligations.data_from
	not d.obligations.data_to
}

# t0 is 2026-03-01T10:00:00Z: 365 days back is 2025-03-01.
test_data_range_cap_without_consent_bound if {
	d := authz.decision with input as with_range("", "") with data.creditnode.config.fair_use as range_limits
	d.obligations.data_from == "2025-03-01"
	not d.obligations.data_to
}

test_data_range_cap_narrows_consent if {
	d := authz.decision with input as with_range("2020-01-01", "2026-01-31") with data.creditnode.config.fair_use as range_limits
	d.obligations.data_from == "2025-03-01"
	d.obligations.data_to == "2026-01-31"
}

test_data_range_consent_narrower_than_cap if {
	d := authz.decision with input as with_range("2025-06-01", "") with data.creditnode.config.fair_use as range_limits
	d.obligations.data_from == "2025-06-01"
}

# A consent the query does not rely on (public data only) sets no range.
test_data_range_ignored_without_consent_need if {
	req := object.union(with_range("2024-01-01", "2024-12-31"), {"categories": [{"name": "registration", "level": "public"}]})
	d := authz.decision with input as req
	d.allow == true
	not d.obligations.data_from
}

test_data_range_not_a_date_is_malformed if {
	d := authz.decision with input as with_range("01/02/2024", "")
	d.code == "malformed_input"
}
