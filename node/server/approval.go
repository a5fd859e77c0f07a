package server

import (
	"time"

	"github.com/creditexchange/node/node/approval"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// checkApproval verifies the special approval, if the query carries one: a
// token signed by a regulator member of the registry, valid now within the
// skew, naming the queried subject and the TLS peer as requester. A missing
// approval is not an error here: the policy decides whether a category
// needs one (approval_missing). What it covers (purpose, categories) is for
// the policy too, so the denial names the precise shortfall.
func (p *Provider) checkApproval(reg RegistryView, q *inquiry, now time.Time) (*approval.Approval, *schemas.Error) {
	c := q.claims
	if c.Approval == "" {
		return nil, nil
	}
	a, err := approval.Verify([]byte(c.Approval), reg, now, p.opts.Skew)
	if err != nil {
		return nil, schemas.AsError(err, schemas.CodeApprovalInvalid, "rejected")
	}
	q.approvalCase = a.Claims.Case
	if err := a.CheckParties(c.Subject, q.peer); err != nil {
		return nil, schemas.AsError(err, schemas.CodeApprovalInvalid, "rejected")
	}
	return a, nil
}

// addApproval puts a verified approval's facts into the policy input.
func addApproval(in *policy.Input, a *approval.Approval) {
	if a == nil {
		return
	}
	in.Approval = policy.Approval{
		Present:    true,
		ID:         a.Claims.Case,
		Purpose:    a.Claims.Purpose,
		Categories: a.Claims.Categories,
		Requester:  a.Claims.Requester,
		Subject:    a.Claims.Subject,
	}
}
