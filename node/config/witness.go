package config

import "time"

// Witnessing defaults.
const (
	DefaultWitnessPoll   = 30 * time.Second
	DefaultSubjectCommit = 2 * time.Second
)

// WitnessConfig tunes the per-subject commitment (node/subjectlog) and the
// witnessing of peers' logs (node/witness). Zero values take the defaults.
type WitnessConfig struct {
	// PollInterval is how often each peer's checkpoint is fetched, checked
	// and cosigned.
	PollInterval Duration `yaml:"poll_interval,omitempty"`
	// CommitInterval is how often the subject map follows the inquiry
	// log's tree and a subject checkpoint is signed.
	CommitInterval Duration `yaml:"commit_interval,omitempty"`
	// Disabled turns witnessing of peers off (the node still commits and
	// serves its own checkpoints).
	Disabled bool `yaml:"disabled,omitempty"`
}

// Poll is PollInterval or its default.
func (w WitnessConfig) Poll() time.Duration {
	if w.PollInterval <= 0 {
		return DefaultWitnessPoll
	}
	return w.PollInterval.D()
}

// Commit is CommitInterval or its default.
func (w WitnessConfig) Commit() time.Duration {
	if w.CommitInterval <= 0 {
		return DefaultSubjectCommit
	}
	return w.CommitInterval.D()
}
