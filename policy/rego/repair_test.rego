# Credit repair: which purposes an approved repair withholds a record from.
package creditnode.repair_test

import data.creditnode.authz
import data.creditnode.authz_test

test_repair_withheld_from_loan_approval if {
	d := authz.decision with input as authz_test.loan
	d.allow == true
	d.obligations.withhold_repaired == true
}

test_repair_still_visible_to_judicial_enforcement if {
	req := authz_test.request("department", "judicial_enforcement", [{"name": "judicial_enforcement", "level": "shared"}], authz_test.no_consent, authz_test.no_approval, "enterprise")
	d := authz.decision with input as req
	d.allow == true
	d.obligations.withhold_repaired == false
}

test_repair_withheld_from_joint_punishment_check if {
	req := authz_test.request("department", "joint_punishment_check", [{"name": "administrative_penalty", "level": "shared"}], authz_test.no_consent, authz_test.no_approval, "enterprise")
	d := authz.decision with input as req
	d.allow == true
	d.obligations.withhold_repaired == true
}
