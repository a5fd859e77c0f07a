package gate

import (
	"context"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/policy"
)

// Decider evaluates the authorisation policy (*policy.Holder).
type Decider interface {
	Decide(ctx context.Context, in policy.Input) (policy.Result, error)
}

// Self is this node as the policy sees it.
type Self struct {
	ID           string
	Jurisdiction string
}

// PolicyInput starts the policy input of a member's request: the requester
// as the registry describes it (organisation, roles, jurisdiction), this
// node, the purpose and the time. The service adds the subject, the
// categories and what else it knows.
func PolicyInput(reg RegistryView, requester string, self Self, purpose string, now time.Time) policy.Input {
	in := policy.Input{Purpose: purpose, Time: now.UTC()}
	in.Requester.ID = requester
	if m, ok := reg.Member(requester); ok && m != nil {
		in.Requester.Organisation, in.Requester.Roles, in.Requester.Jurisdiction = m.Organisation, m.Roles, m.Jurisdiction
	}
	in.Provider.ID, in.Provider.Jurisdiction = self.ID, self.Jurisdiction
	return in
}

// AddCategories appends the named categories at the levels of this node's
// catalogue (levels; a name it does not offer has the empty level).
func AddCategories(in *policy.Input, names []string, levels map[string]string) {
	for _, name := range names {
		in.Categories = append(in.Categories, policy.Category{Name: name, Level: levels[name]})
	}
}

// AddConsent describes a consent checked by CheckConsent, with the uses it
// had left before this request.
func AddConsent(in *policy.Input, cons *consent.Consent, usesLeft int) {
	if cons == nil {
		return
	}
	in.Consent.Present = true
	in.Consent.ID, in.Consent.Requester = cons.Claims.ID, cons.Claims.Requester
	in.Consent.Purpose, in.Consent.Categories, in.Consent.UsesLeft = cons.Claims.Purpose, cons.Claims.Categories, usesLeft
}
