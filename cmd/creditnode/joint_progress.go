package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// jointProgress shows a training run's progress (joint.GuestOptions.Progress) on w, which is
// stderr: a bar redrawn in place when w is a terminal, otherwise one plain line per step and
// per tenth iteration, so that logs and scripts read it line by line. It never shows data.
type jointProgress struct {
	w          io.Writer
	tty        bool
	hosts      int
	iterations int
	aligned    int
	start      time.Time
	drawn      bool // a bar is on the current line
}

const progressBarWidth = 30

func newJointProgress(w io.Writer, hosts, iterations int) *jointProgress {
	return &jointProgress{w: w, tty: isTerminal(w), hosts: hosts, iterations: iterations, start: time.Now()}
}

// isTerminal reports whether w is a character device other than a dumb terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Note prints a line of its own (above the bar on a terminal).
func (p *jointProgress) Note(format string, args ...any) {
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
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
		p.bar(done, label)
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
		p.bar(p.total(), "done")
	}
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *jointProgress) total() int { return p.hosts + 2 + p.iterations }

func (p *jointProgress) bar(done int, label string) {
	total := p.total()
	done = min(max(done, 0), total)
	fill := done * progressBarWidth / total
	fmt.Fprintf(p.w, "\r%3d%% [%s%s] %s  %s\x1b[K", done*100/total, strings.Repeat("#", fill), strings.Repeat(".", progressBarWidth-fill),
		time.Since(p.start).Round(time.Second), label)
	p.drawn = true
}

func (p *jointProgress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}
