package config

// LogConfig tunes the tamper-evident logs' sequencers. Zero values take the
// defaults of package node/tlog.
type LogConfig struct {
	// MaxBatch bounds the entries written in one transaction.
	MaxBatch int `yaml:"max_batch,omitempty"`
	// CheckpointInterval is how often a checkpoint is published if the log
	// grew.
	CheckpointInterval Duration `yaml:"checkpoint_interval,omitempty"`
	// CheckpointAfterBatch also publishes a checkpoint after each batch of
	// appends (default true).
	CheckpointAfterBatch *bool `yaml:"checkpoint_after_batch,omitempty"`
}

// AfterBatch reports whether a checkpoint follows each batch.
func (l LogConfig) AfterBatch() bool { return l.CheckpointAfterBatch == nil || *l.CheckpointAfterBatch }
