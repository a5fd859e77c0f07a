package remote

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/schemas"
)

// Consent is an applicant's consent token offered for scoring, named for
// messages (its file, or its place in a request).
type Consent struct{ Name, Token string }

// Score returns applicant's probability of default under m: g holds the
// applicant's row of the guest's features, and each of m's hosts adds its
// partial score. Each host is sent the first consent that authorises this
// node to score applicant there for hostCategories[host], checked here first
// (signature, validity, parties, purpose, categories) against reg, so that no
// host spends a use of a consent when another host cannot be asked; the hosts
// check it again, with revocations and uses.
func (c *Client) Score(ctx context.Context, g *joint.Guest, m *joint.Model, hostCategories map[string][]string, applicant string,
	consents []Consent, reg consent.Registrars, skew time.Duration) (float64, error) {
	links := make([]joint.HostLink, len(m.Hosts))
	for i, h := range m.Hosts {
		conn := c.Conn(h, m.Job)
		want := consent.Expectation{Subject: applicant, Requester: c.ID, Provider: h, Purpose: PurposeJointModeling,
			Categories: hostCategories[h]}
		tok, err := PickConsent(consents, reg, want, c.now(), skew)
		if err != nil {
			return 0, err
		}
		conn.Consent = tok
		links[i] = joint.HostLink{Name: h, Conn: conn}
	}
	return g.ScoreApplicant(ctx, m, links, applicant)
}

// PickConsent returns the first of consents that authorises want at now, or
// consent_missing naming why each was unfit.
func PickConsent(consents []Consent, reg consent.Registrars, want consent.Expectation, now time.Time, skew time.Duration) (string, error) {
	var why []string
	for _, f := range consents {
		c, err := consent.VerifyConsentToken([]byte(f.Token), reg, now, skew)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", f.Name, err))
			continue
		}
		if err := c.Check(want); err != nil {
			why = append(why, fmt.Sprintf("%s: %v", f.Name, err))
			continue
		}
		return f.Token, nil
	}
	msg := fmt.Sprintf("no consent authorises %s to score %s at %s for %s on %s", want.Requester, want.Subject, want.Provider,
		want.Purpose, strings.Join(want.Categories, ","))
	if len(why) > 0 {
		msg += " (" + strings.Join(why, "; ") + ")"
	}
	return "", schemas.Errorf(schemas.CodeConsentMissing, "%s", msg)
}
