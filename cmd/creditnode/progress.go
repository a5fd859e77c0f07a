package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/subjectlog"
)

// progressBar draws the progress of long work on w, which is stderr: a bar
// redrawn in place when w is a terminal. The commands that use it print plain
// lines instead when w is not one (tty false), so that logs and scripts read
// them line by line. It never shows data, only counts and labels.
type progressBar struct {
	w     io.Writer
	tty   bool
	start time.Time
	drawn bool // a bar is on the current line
}

const progressBarWidth = 30

func newProgressBar(w io.Writer) progressBar {
	return progressBar{w: w, tty: isTerminal(w), start: time.Now()}
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

// line prints a line of its own (above the bar on a terminal).
func (b *progressBar) line(format string, args ...any) {
	b.clear()
	fmt.Fprintf(b.w, format+"\n", args...)
}

// bar redraws the bar at done of total, followed by label.
func (b *progressBar) bar(done, total int, label string) {
	total = max(total, 1)
	done = min(max(done, 0), total)
	fill := done * progressBarWidth / total
	fmt.Fprintf(b.w, "\r%3d%% [%s%s] %s  %s\x1b[K", done*100/total, strings.Repeat("#", fill), strings.Repeat(".", progressBarWidth-fill),
		time.Since(b.start).Round(time.Second), label)
	b.drawn = true
}

// endLine ends the bar's line, leaving it shown.
func (b *progressBar) endLine() {
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}

// countProgress shows work counted in units (log rows, records, batches):
// on a terminal a bar redrawn at each whole percent, otherwise a line at
// each tenth of the total and at the end. With an unknown total (0) it
// shows the count so far, a line per call off a terminal.
type countProgress struct {
	progressBar
	what    string // "inquiry log rows", …
	percent int    // last percent drawn on a terminal
	tenth   int    // last tenth printed off a terminal
}

func newCountProgress(w io.Writer, what string) *countProgress {
	return &countProgress{progressBar: newProgressBar(w), what: what, percent: -1, tenth: -1}
}

// Note prints a line of its own (above the bar on a terminal).
func (p *countProgress) Note(format string, args ...any) { p.line(format, args...) }

// Count reports done units of total (0: unknown).
func (p *countProgress) Count(done, total int) {
	if total <= 0 {
		if p.tty {
			fmt.Fprintf(p.w, "\r%s: %d so far  %s\x1b[K", p.what, done, time.Since(p.start).Round(time.Second))
			p.drawn = true
			return
		}
		fmt.Fprintf(p.w, "%s: %d so far\n", p.what, done)
		return
	}
	done = min(max(done, 0), total)
	if p.tty {
		if pc := done * 100 / total; pc != p.percent {
			p.percent = pc
			p.bar(done, total, fmt.Sprintf("%s %d/%d", p.what, done, total))
		}
		return
	}
	if t := done * 10 / total; t != p.tenth {
		p.tenth = t
		fmt.Fprintf(p.w, "%s: %d/%d (%d%%)\n", p.what, done, total, done*100/total)
	}
}

// End ends the bar's line on a terminal.
func (p *countProgress) End() {
	if p.tty {
		p.endLine()
	}
}

// subjectMapProgressMin is the smallest catch-up of the subject map shown:
// a node opened by a command usually folds the few leaves its running
// server has not committed yet, in milliseconds; a rebuild (a first start,
// a rotated key, a corrupt stored map) folds the whole log at about 0.5 ms a
// leaf, which is worth showing.
const subjectMapProgressMin = 10_000

// subjectMapProgress shows on w how far opening a node has got folding the
// inquiry log into the subject map, through a countProgress (a bar on a
// terminal, plain lines otherwise) when at least `least` leaves are to be folded.
func subjectMapProgress(w io.Writer, least uint64) subjectlog.Progress {
	var p *countProgress
	return func(done, total uint64) {
		if total < least || total == 0 {
			return
		}
		if p == nil {
			p = newCountProgress(w, "subject map: inquiry log leaves")
			p.Note("subject map: folding %d inquiry log leaves into the map (a first start, a rotated key or a rebuild)", total)
		}
		p.Count(int(done), int(total))
		if done == total {
			p.End()
		}
	}
}

// openNode opens the node in dir for a command, with the subject map's
// catch-up shown on stderr.
func (a *app) openNode(ctx context.Context, dir string, logger *slog.Logger) (*node.Node, error) {
	return node.Open(ctx, dir, logger, node.WithSubjectMapProgress(subjectMapProgress(a.errOut, subjectMapProgressMin)))
}
