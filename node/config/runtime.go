package config

import (
	"errors"
	"fmt"
)

// DefaultGCPercent is the garbage collector's growth target for a serving
// node (Go's GOGC; Go's own default is 100). Every request evaluates the
// policy, and an OPA evaluation allocates ≈40 KB: at 100 a collection is
// under way for a large share of decisions, and a decision that runs during
// one pays mark assists and write barriers (policy/bench_test.go,
// BenchmarkDecideLatency: p99 ≈1.5 ms at 100, ≈0.5 ms at 400 on a 2-core
// VM). 400 lets the heap grow to five times the live data between
// collections, which on a node's tens of megabytes of live heap costs tens
// of megabytes of memory.
const DefaultGCPercent = 400

// Runtime tunes the Go runtime of the serving process (`creditnode serve`).
// The environment variables GOGC and GOMEMLIMIT, when set, win: an operator
// can always override the file from the unit or container spec.
type Runtime struct {
	// GCPercent is the collector's growth target (GOGC); 0 means
	// DefaultGCPercent.
	GCPercent int `yaml:"gc_percent,omitempty"`
	// MemoryLimitMiB is a soft limit on the process's memory (GOMEMLIMIT):
	// near it the collector runs more often, whatever GCPercent says.
	// 0 means no limit.
	MemoryLimitMiB int64 `yaml:"memory_limit_mib,omitempty"`
}

// GCSettings are the values to apply to the runtime; a zero field means
// "leave as is" (the environment already set it, or no limit is wanted).
type GCSettings struct {
	GCPercent        int   // for debug.SetGCPercent
	MemoryLimitBytes int64 // for debug.SetMemoryLimit
}

// maxMemoryLimitMiB keeps the limit's byte count far from overflow.
const maxMemoryLimitMiB = 1 << 30

func (r Runtime) validate() error {
	switch {
	case r.GCPercent < 0:
		return fmt.Errorf("config: runtime.gc_percent %d must not be negative", r.GCPercent)
	case r.MemoryLimitMiB < 0:
		return errors.New("config: runtime.memory_limit_mib must not be negative")
	case r.MemoryLimitMiB > maxMemoryLimitMiB:
		return fmt.Errorf("config: runtime.memory_limit_mib %d is too large", r.MemoryLimitMiB)
	}
	return nil
}

// Settings returns what to apply given the process environment (getenv is
// os.Getenv in production).
func (r Runtime) Settings(getenv func(string) string) GCSettings {
	var s GCSettings
	if getenv("GOGC") == "" {
		s.GCPercent = r.GCPercent
		if s.GCPercent == 0 {
			s.GCPercent = DefaultGCPercent
		}
	}
	if getenv("GOMEMLIMIT") == "" && r.MemoryLimitMiB > 0 {
		s.MemoryLimitBytes = r.MemoryLimitMiB << 20
	}
	return s
}
