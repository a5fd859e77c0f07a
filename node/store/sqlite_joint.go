package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateJointJob records a new job; ErrInvalid if the guest already used the id.
func (s *SQLite) CreateJointJob(ctx context.Context, j JointJob) error {
	terms, err := j.terms()
	if err != nil {
		return err
	}
	return s.inWriteTx(ctx, "creating joint job", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO joint_jobs (guest, job_id, terms, state, session, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guest, job_id) DO NOTHING`,
			j.Guest, j.ID, string(terms), j.State, j.Session, j.Created.UnixNano(), j.Created.UnixNano())
		if err != nil {
			return unavailable("creating joint job", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: joint job id already used", ErrInvalid)
		}
		return nil
	})
}

// JointJob reads a job; ErrNotFound if there is none.
func (s *SQLite) JointJob(ctx context.Context, guest, id string) (JointJob, error) {
	j := JointJob{ID: id, Guest: guest}
	var terms string
	var created, updated int64
	err := s.r.QueryRowContext(ctx, `SELECT terms, state, session, created_at, updated_at FROM joint_jobs WHERE guest = ? AND job_id = ?`,
		guest, id).Scan(&terms, &j.State, &j.Session, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return JointJob{}, ErrNotFound
	}
	if err != nil {
		return JointJob{}, unavailable("reading joint job", err)
	}
	j.Created, j.Updated = time.Unix(0, created), time.Unix(0, updated)
	return j, j.setTerms([]byte(terms))
}

// UpdateJointJob sets a job's state and session; ErrNotFound if there is no such job.
func (s *SQLite) UpdateJointJob(ctx context.Context, guest, id, state string, session []byte, now time.Time) error {
	return s.inWriteTx(ctx, "updating joint job", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE joint_jobs SET state = ?, session = ?, updated_at = ? WHERE guest = ? AND job_id = ?`,
			state, session, now.UnixNano(), guest, id)
		if err != nil {
			return unavailable("updating joint job", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}
