package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// JointJob is a host's record of a joint modelling job (node/joint/remote), table joint_jobs.
type JointJob struct {
	ID             string
	Guest          string // the member that proposed it
	Categories     []string
	Label          string // the guest's label definition, as text
	Cohort         int    // the guest's expected cohort size
	Hosts          []string
	State          string // schemas.Job*
	DecisionID     string // the policy decision admitting the job
	PolicyRevision string
	// Session is the host's joint.SessionState as JSON: its own data, never sent. Nil before
	// alignment and once the job is cancelled or failed.
	Session []byte
	Created time.Time
	Updated time.Time
}

// jointTerms is the JSON of a job's terms in joint_jobs.terms.
type jointTerms struct {
	Categories     []string `json:"categories"`
	Label          string   `json:"label"`
	Cohort         int      `json:"cohort"`
	Hosts          []string `json:"hosts"`
	DecisionID     string   `json:"decision_id"`
	PolicyRevision string   `json:"policy_revision"`
}

func (j *JointJob) terms() ([]byte, error) {
	if j.ID == "" || j.Guest == "" || j.State == "" {
		return nil, fmt.Errorf("%w: joint job needs an id, a guest and a state", ErrInvalid)
	}
	return json.Marshal(jointTerms{Categories: j.Categories, Label: j.Label, Cohort: j.Cohort, Hosts: j.Hosts,
		DecisionID: j.DecisionID, PolicyRevision: j.PolicyRevision})
}

func (j *JointJob) setTerms(b []byte) error {
	var t jointTerms
	if err := json.Unmarshal(b, &t); err != nil {
		return fmt.Errorf("store: joint job terms: %w", err)
	}
	j.Categories, j.Label, j.Cohort, j.Hosts, j.DecisionID, j.PolicyRevision = t.Categories, t.Label, t.Cohort, t.Hosts, t.DecisionID, t.PolicyRevision
	return nil
}
