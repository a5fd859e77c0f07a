package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// CPU time per query is the bench's figure of record on a shared machine:
// unlike a rate or a latency it hardly moves with what else the machine
// runs. Each process is read from the kernel's own counters over the
// measured window (warm-up excluded).

// cpuClock reads one process's CPU time so far (user + system).
type cpuClock struct {
	name string
	read func() (time.Duration, error)
}

// selfCPU is this process's CPU time (getrusage(2)).
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// userHZ is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const userHZ = 100

// procCPU is process pid's CPU time from /proc/PID/stat (resolution 10 ms:
// measure windows of seconds).
func procCPU(pid int) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		return parseProcStatCPU(b)
	}
}

// parseProcStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/PID/stat line. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself: fields are counted after its last ')'.
func parseProcStatCPU(b []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("bench: /proc stat line without a command name")
	}
	f := bytes.Fields(b[end+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc stat line has %d fields after the command", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 and 15
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bench: /proc stat time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuWindow is the CPU time of each process over a window.
type cpuWindow struct {
	clocks []cpuClock
	start  []time.Duration
}

func startCPU(clocks []cpuClock) (*cpuWindow, error) {
	w := &cpuWindow{clocks: clocks}
	for _, c := range clocks {
		t, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("bench: CPU time of %s: %w", c.name, err)
		}
		w.start = append(w.start, t)
	}
	return w, nil
}

// perQuery is each process's CPU time since start divided by n.
func (w *cpuWindow) perQuery(n int) ([]time.Duration, error) {
	out := make([]time.Duration, len(w.clocks))
	for i, c := range w.clocks {
		t, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("bench: CPU time of %s: %w", c.name, err)
		}
		out[i] = (t - w.start[i]) / time.Duration(n)
	}
	return out, nil
}
