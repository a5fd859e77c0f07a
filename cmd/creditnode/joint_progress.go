package main

import (
	"fmt"
	"io"
	"strings"
)

// jointProgress shows a training run's progress (joint.GuestOptions.Progress) on w, which is
// stderr: a bar redrawn in place when w is a terminal, otherwise one plain line per step and
// per tenth iteration, so that logs and scripts read it line by line. It never shows data.
type jointProgress struct {
	progressBar
	hosts      int
	iterations int
	aligned    int
}

func newJointProgress(w io.Writer, hosts, iterations int) *jointProgress {
	return &jointProgress{progressBar: newProgressBar(w), hosts: hosts, iterations: iterations}
}

// Note prints a line of its own (above the bar on a terminal).
func (p *jointProgress) Note(format string, args ...any) {
	p.line(format, args...)
}

// Step is the guest's progress callback: step is "align HOST", "binning", "regression" (with
// the iteration about to run, from 0) or "evaluate".
func (p *jointProgress) Step(step string, iter int) {
	// Units: one per host alignment, binning, each iteration, evaluation; done counts those
	// finished before this step starts.
	var done int
	label := step
	switch {
	case strings.HasPrefix(step, "align "):
		done = p.aligned
		p.aligned++
	case step == "binning":
		done = p.hosts
	case step == "regression":
		done = p.hosts + 1 + iter
		label = fmt.Sprintf("regression: iteration %d/%d", iter+1, p.iterations)
	case step == "evaluate":
		done = p.hosts + 1 + p.iterations
	}
	if p.tty {
		p.bar(done, p.total(), label)
		return
	}
	if step != "regression" || iter%10 == 0 || iter == p.iterations-1 {
		fmt.Fprintln(p.w, label)
	}
}

// End completes the bar (ok) or leaves it where it stopped, and ends its line.
func (p *jointProgress) End(ok bool) {
	if !p.tty {
		return
	}
	if ok {
		p.bar(p.total(), p.total(), "done")
	}
	p.endLine()
}

func (p *jointProgress) total() int { return p.hosts + 2 + p.iterations }
