package store

import (
	"context"
	"fmt"
	"time"
)

// CreateJointJob records a new job; ErrInvalid if the guest already used the id.
func (s *Postgres) CreateJointJob(ctx context.Context, j JointJob) error {
	terms, err := j.terms()
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO joint_jobs (guest, job_id, terms, state, session, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (guest, job_id) DO NOTHING`,
		j.Guest, j.ID, string(terms), j.State, j.Session, j.Created.UnixNano())
	if err != nil {
		return unavailable("creating joint job", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: joint job id already used", ErrInvalid)
	}
	return nil
}

// JointJob reads a job; ErrNotFound if there is none.
func (s *Postgres) JointJob(ctx context.Context, guest, id string) (JointJob, error) {
	j := JointJob{ID: id, Guest: guest}
	var terms string
	var created, updated int64
	err := s.pool.QueryRow(ctx, `SELECT terms, state, session, created_at, updated_at FROM joint_jobs WHERE guest = $1 AND job_id = $2`,
		guest, id).Scan(&terms, &j.State, &j.Session, &created, &updated)
	if errNoRows(err) {
		return JointJob{}, ErrNotFound
	}
	if err != nil {
		return JointJob{}, unavailable("reading joint job", err)
	}
	j.Created, j.Updated = time.Unix(0, created), time.Unix(0, updated)
	return j, j.setTerms([]byte(terms))
}

// UpdateJointJob sets a job's state and session; ErrNotFound if there is no such job.
func (s *Postgres) UpdateJointJob(ctx context.Context, guest, id, state string, session []byte, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE joint_jobs SET state = $1, session = $2, updated_at = $3 WHERE guest = $4 AND job_id = $5`,
		state, session, now.UnixNano(), guest, id)
	if err != nil {
		return unavailable("updating joint job", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
