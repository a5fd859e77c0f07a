package remote

import (
	"context"
	"time"

	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/store"
)

// Job is a host's record of a joint modelling job (store table joint_jobs, migration 0011).
type Job = store.JointJob

// JobStore keeps jobs durably (node/store implements it). JointJob and UpdateJointJob return
// store.ErrNotFound for an unknown (guest, id); CreateJointJob returns store.ErrInvalid when
// the guest already used the id.
type JobStore interface {
	CreateJointJob(ctx context.Context, j Job) error
	JointJob(ctx context.Context, guest, id string) (Job, error)
	UpdateJointJob(ctx context.Context, guest, id, state string, session []byte, now time.Time) error
}

// DataSource yields the host's data set for a job: one row per enterprise (identifier: USCC),
// the features of the given categories only. It must fail if a category has no features.
type DataSource interface {
	JointData(ctx context.Context, categories []string) (*joint.Dataset, error)
}

// PurposeJointModeling is the purpose code of every job and of inference.
const PurposeJointModeling = "joint_modeling"
