//go:build unix

package joint

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time this process has used, so that benchmarks
// can report work done independently of how busy the machine is.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
