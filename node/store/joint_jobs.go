package store

import (
	"context"
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

// CreateJointJob records a new job; ErrInvalid if the guest already used the id.
func (s *ops) CreateJointJob(ctx context.Context, j JointJob) error {
	terms, err := j.terms()
	if err != nil {
		return err
	}
	n, err := s.d.writer().exec(ctx, `INSERT INTO joint_jobs (guest, job_id, terms, state, session, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guest, job_id) DO NOTHING`,
		j.Guest, j.ID, string(terms), j.State, j.Session, j.Created.UnixNano(), j.Created.UnixNano())
	if err != nil {
		return unavailable("creating joint job", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: joint job id already used", ErrInvalid)
	}
	return nil
}

// JointJob reads a job; ErrNotFound if there is none.
func (s *ops) JointJob(ctx context.Context, guest, id string) (JointJob, error) {
	j := JointJob{ID: id, Guest: guest}
	var terms string
	var created, updated int64
	err := s.d.reader().queryRow(ctx, `SELECT terms, state, session, created_at, updated_at FROM joint_jobs WHERE guest = ? AND job_id = ?`,
		guest, id).Scan(&terms, &j.State, &j.Session, &created, &updated)
	if isNoRows(err) {
		return JointJob{}, ErrNotFound
	}
	if err != nil {
		return JointJob{}, unavailable("reading joint job", err)
	}
	j.Created, j.Updated = time.Unix(0, created), time.Unix(0, updated)
	return j, j.setTerms([]byte(terms))
}

// UpdateJointJob sets a job's state and session; ErrNotFound if there is no such job.
func (s *ops) UpdateJointJob(ctx context.Context, guest, id, state string, session []byte, now time.Time) error {
	n, err := s.d.writer().exec(ctx, `UPDATE joint_jobs SET state = ?, session = ?, updated_at = ? WHERE guest = ? AND job_id = ?`,
		state, session, now.UnixNano(), guest, id)
	if err != nil {
		return unavailable("updating joint job", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
