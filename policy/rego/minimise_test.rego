# Tests of data minimisation (PIPL art. 6) and of the consistency of
# data.json: only listed fields leave, and every list names real fields.
package creditnode.minimise_test

import data.creditnode.authz

cfg := data.creditnode.config

# The fields of each category as the record schemas define them.
category_fields := {
	"registration": {"name", "legal_representative", "registered_capital", "established", "status", "address", "industry"},
	"administrative_penalty": {"decision_no", "authority", "decision_date", "violation", "penalty", "amount", "publication_end", "conduct_end"},
	"tax_payment": {"year", "tax_paid", "tax_credit_grade", "arrears", "declared_revenue"},
	"social_insurance": {"month", "insured_headcount", "contribution_base", "arrears"},
	"utility_payment": {"month", "utility", "amount_due", "amount_paid", "days_late"},
	"judicial_enforcement": {"case_no", "court", "filed", "amount", "status", "dishonest_debtor", "conduct_end"},
	"abnormal_operation": {"listed_on", "reason", "authority", "removed_on", "conduct_end"},
	"customs": {"year", "import_value", "export_value", "credit_level"},
	"untrustworthy_list": {"list", "list_name", "basis", "authority", "decision_no", "decided_on", "listed_on", "measures", "publication_end", "removal_conditions", "objection", "removed_on", "removal_reason", "conduct_end"},
	"commitment": {"matter", "authority", "text_digest", "made_on", "due", "status", "fulfilled_on", "conduct_end"},
}

request(purpose, role, cats) := {
	"requester": {"id": "node-req", "organisation": "Requester", "roles": [role], "jurisdiction": "CN"},
	"provider": {"id": "node-prov", "jurisdiction": "CN"},
	"subject": {"id": "91350100M000100Y43", "type": "enterprise"},
	"purpose": purpose,
	"categories": [{"name": c, "level": "authorised"} | some c in cats],
	"consent": {"present": true, "id": "c1", "requester": "node-req", "purpose": purpose, "categories": cats, "uses_left": 1},
	"approval": {"present": false, "id": "", "purpose": "", "categories": [], "requester": "", "subject": ""},
	"time": "2026-03-01T10:00:00Z",
}

test_categories_match_record_schemas if {
	{name: {f | some f in fs} | some name, fs in cfg.categories} == category_fields
}

test_every_field_list_names_real_fields[note] if {
	some purpose, per_category in cfg.fields
	some category, paths in per_category
	note := concat("/", [purpose, category])
	purpose in object.keys(cfg.purposes)
	count(paths) > 0
	count({p | some p in paths}) == count(paths)
	every p in paths {
		p in category_fields[category]
	}
}

test_every_purpose_reaches_registration[purpose] if {
	some purpose, _ in cfg.purposes
	count(cfg.fields[purpose].registration) > 0
	cfg.purposes[purpose].retention_days > 0
}

test_loan_approval_tax_fields_exact if {
	d := authz.decision with input as request("loan_approval", "bank", ["tax_payment"])
	d.allow == true
	d.fields == {"tax_payment": ["year", "tax_paid", "tax_credit_grade", "arrears"]}
}

test_declared_revenue_only_for_self_query[purpose] if {
	some purpose, per_category in object.remove(cfg.fields, ["self_query"])
	not "declared_revenue" in object.get(per_category, "tax_payment", [])
}

test_self_query_sees_everything if {
	cats := object.keys(category_fields)
	d := authz.decision with input as request("self_query", "bureau", [c | some c in cats])
	d.allow == true
	{c: {f | some f in fs} | some c, fs in d.fields} == category_fields
}

test_contribution_base_not_to_lenders if {
	d := authz.decision with input as request("loan_approval", "bank", ["social_insurance"])
	d.allow == true
	not "contribution_base" in d.fields.social_insurance
}

test_fields_only_for_requested_categories if {
	d := authz.decision with input as request("post_loan_management", "bank", ["utility_payment", "customs"])
	d.allow == true
	d.fields == {"utility_payment": ["month", "days_late"], "customs": ["year", "credit_level"]}
}

test_joint_modeling_gets_no_identity if {
	d := authz.decision with input as request("joint_modeling", "bank", ["registration"])
	d.allow == true
	not "name" in d.fields.registration
	not "legal_representative" in d.fields.registration
	not "address" in d.fields.registration
}

test_unlisted_category_for_purpose_denied if {
	d := authz.decision with input as request("guarantee_review", "bank", ["customs"])
	d.allow == false
	d.code == "level_not_permitted"
}
