# Grading: every grade boundary, with the shipped data tables.
package creditnode.grading_test

import data.creditnode.grading

clean := {
	"subject": "91350100M000100Y43",
	"as_of": "2025-06-30",
	"penalties": [],
	"list_entries": [],
	"abnormal_operations": [],
	"commitments": [],
	"tax": [],
}

fine(date, amount) := {"ref": "p/1", "decision_date": date, "penalty": "fine", "amount": amount}

with_facts(key, value) := object.union(clean, {key: value})

codes(r) := {x.code | some x in r.reasons}

# --- A ---------------------------------------------------------------------

test_clean_subject_is_a if {
	r := grading.result with input as clean
	r.grade == "A"
	r.reasons == []
	r.inspection.ratio_percent == 3
	r.inspection.key_supervision == false
}

test_tax_grade_b_still_a if {
	r := grading.result with input as with_facts("tax", [{"ref": "t/1", "year": 2024, "tax_credit_grade": "B"}])
	r.grade == "A"
}

test_penalty_older_than_recent_window_is_a if {
	# 2024-06-30 is 365 days before 2025-06-30: outside the 365-day window.
	r := grading.result with input as with_facts("penalties", [fine("2024-06-30", 500)])
	r.grade == "A"
	r.facts.penalties_recent == 0
}

test_removed_listing_is_a if {
	r := grading.result with input as with_facts("list_entries", [{"ref": "l/1", "in_force": false}])
	r.grade == "A"
}

test_future_penalty_not_counted if {
	r := grading.result with input as with_facts("penalties", [fine("2025-07-01", 500)])
	r.grade == "A"
}

# --- B ---------------------------------------------------------------------

test_one_recent_penalty_is_b if {
	# 2024-07-01 is 364 days before: the last day inside the window.
	r := grading.result with input as with_facts("penalties", [fine("2024-07-01", 500)])
	r.grade == "B"
	codes(r) == {"penalty_recent"}
	r.inspection.ratio_percent == 5
}

test_penalty_on_grading_day_is_b if {
	r := grading.result with input as with_facts("penalties", [fine("2025-06-30", 500)])
	r.grade == "B"
}

test_two_recent_penalties_still_b if {
	r := grading.result with input as with_facts("penalties", [fine("2025-01-01", 500), fine("2025-02-01", 500)])
	r.grade == "B"
	r.facts.penalties_recent == 2
}

test_severe_penalty_in_long_window_is_b if {
	# 2023-07-01 is 730 days before: inside 1095 days, outside 365.
	r := grading.result with input as with_facts("penalties", [fine("2023-07-01", 100000)])
	r.grade == "B"
	codes(r) == {"severe_penalty_past"}
}

test_severe_penalty_beyond_long_window_is_a if {
	# 2022-07-01 is 1095 days before 2025-06-30: just outside.
	r := grading.result with input as with_facts("penalties", [fine("2022-07-01", 1000000)])
	r.grade == "A"
}

test_tax_grade_m_is_b if {
	r := grading.result with input as with_facts("tax", [{"ref": "t/1", "year": 2024, "tax_credit_grade": "M"}])
	r.grade == "B"
	codes(r) == {"tax_credit_grade_M"}
}

# --- C ---------------------------------------------------------------------

test_three_recent_penalties_is_c if {
	r := grading.result with input as with_facts("penalties", [fine("2025-01-01", 500), fine("2025-02-01", 500), fine("2025-03-01", 500)])
	r.grade == "C"
	"penalties_frequent" in codes(r)
	r.inspection.ratio_percent == 20
}

test_recent_severe_by_amount_is_c if {
	r := grading.result with input as with_facts("penalties", [fine("2025-01-01", 100000)])
	r.grade == "C"
	"severe_penalty_recent" in codes(r)
}

test_amount_just_below_severe_is_b if {
	r := grading.result with input as with_facts("penalties", [fine("2025-01-01", 99999.99)])
	r.grade == "B"
}

test_recent_severe_by_keyword_is_c if {
	p := {"ref": "p/1", "decision_date": "2025-01-01", "penalty": "Licence Suspended for 3 months", "amount": 0}
	r := grading.result with input as with_facts("penalties", [p])
	r.grade == "C"
}

test_abnormal_operation_in_force_is_c if {
	r := grading.result with input as with_facts("abnormal_operations", [{"ref": "a/1", "in_force": true}])
	r.grade == "C"
	codes(r) == {"abnormal_operation_listed"}
}

test_one_overdue_commitment_is_c if {
	r := grading.result with input as with_facts("commitments", [{"ref": "c/1", "overdue": true}, {"ref": "c/2", "overdue": false}])
	r.grade == "C"
	codes(r) == {"commitment_overdue"}
}

test_two_overdue_commitments_still_c if {
	cs := [{"ref": "c/1", "overdue": true}, {"ref": "c/2", "overdue": true}]
	r := grading.result with input as with_facts("commitments", cs)
	r.grade == "C"
}

test_tax_grade_c_is_c if {
	r := grading.result with input as with_facts("tax", [{"ref": "t/1", "year": 2024, "tax_credit_grade": "C"}])
	r.grade == "C"
}

test_latest_tax_year_counts if {
	tax := [{"ref": "t/1", "year": 2023, "tax_credit_grade": "D"}, {"ref": "t/2", "year": 2024, "tax_credit_grade": "A"}]
	r := grading.result with input as with_facts("tax", tax)
	r.grade == "A"
}

# --- D ---------------------------------------------------------------------

test_listed_is_d if {
	r := grading.result with input as with_facts("list_entries", [{"ref": "l/1", "in_force": true}])
	r.grade == "D"
	codes(r) == {"untrustworthy_listed"}
	r.inspection.ratio_percent == 100
	r.inspection.key_supervision == true
}

test_two_severe_penalties_in_long_window_is_d if {
	r := grading.result with input as with_facts("penalties", [fine("2023-07-01", 200000), fine("2022-07-02", 200000)])
	r.grade == "D"
	"severe_penalties_repeated" in codes(r)
}

test_three_overdue_commitments_is_d if {
	cs := [{"ref": "c/1", "overdue": true}, {"ref": "c/2", "overdue": true}, {"ref": "c/3", "overdue": true}]
	r := grading.result with input as with_facts("commitments", cs)
	r.grade == "D"
	codes(r) == {"commitment_overdue", "commitments_overdue_many"}
}

test_tax_grade_d_is_d if {
	r := grading.result with input as with_facts("tax", [{"ref": "t/1", "year": 2024, "tax_credit_grade": "D"}])
	r.grade == "D"
}

test_worst_reason_wins_and_all_are_listed if {
	inp := object.union(clean, {
		"penalties": [fine("2025-01-01", 500)],
		"abnormal_operations": [{"ref": "a/1", "in_force": true}],
		"list_entries": [{"ref": "l/1", "in_force": true}],
	})
	r := grading.result with input as inp
	r.grade == "D"
	[x.code | some x in r.reasons] == ["abnormal_operation_listed", "penalty_recent", "untrustworthy_listed"]
}

# --- Malformed input: no grade at all ---------------------------------------

test_missing_list_is_undefined if {
	not grading.result with input as object.remove(clean, ["penalties"])
}

test_bad_date_is_undefined if {
	not grading.result with input as with_facts("penalties", [fine("30/06/2025", 500)])
}

test_bad_as_of_is_undefined if {
	not grading.result with input as with_facts("as_of", "yesterday")
}

test_unknown_tax_grade_is_undefined if {
	not grading.result with input as with_facts("tax", [{"ref": "t/1", "year": 2024, "tax_credit_grade": "AAA"}])
}

test_non_boolean_flag_is_undefined if {
	not grading.result with input as with_facts("list_entries", [{"ref": "l/1", "in_force": "yes"}])
}
