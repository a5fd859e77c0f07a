package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCountProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := newCountProgress(&b, "inquiry log rows") // a buffer is not a terminal
	p.Note("starting")
	for i := 0; i <= 25; i++ {
		p.Count(i, 25)
	}
	p.End()
	want := "starting\n" +
		"inquiry log rows: 0/25 (0%)\ninquiry log rows: 3/25 (12%)\ninquiry log rows: 5/25 (20%)\n" +
		"inquiry log rows: 8/25 (32%)\ninquiry log rows: 10/25 (40%)\ninquiry log rows: 13/25 (52%)\n" +
		"inquiry log rows: 15/25 (60%)\ninquiry log rows: 18/25 (72%)\ninquiry log rows: 20/25 (80%)\n" +
		"inquiry log rows: 23/25 (92%)\ninquiry log rows: 25/25 (100%)\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestCountProgressUnknownTotal(t *testing.T) {
	var b bytes.Buffer
	p := newCountProgress(&b, "records")
	p.Count(2, 0)
	p.Count(3, 0)
	p.End()
	if want := "records: 2 so far\nrecords: 3 so far\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestCountProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := newCountProgress(&b, "rows")
	p.tty = true
	for i := 0; i <= 1000; i++ {
		p.Count(i, 1000)
	}
	p.Note("a note")
	p.Count(1000, 1000) // same percent: not redrawn
	p.End()
	out := b.String()
	frames := strings.Split(strings.SplitN(out, "\r\x1b[K", 2)[0], "\r")[1:]
	if len(frames) != 101 { // one per whole percent
		t.Fatalf("%d frames", len(frames))
	}
	if f := frames[100]; !strings.HasPrefix(f, "100% ["+strings.Repeat("#", progressBarWidth)+"]") || !strings.Contains(f, "rows 1000/1000") {
		t.Fatalf("last frame %q", f)
	}
	if !strings.HasSuffix(out, "\r\x1b[Ka note\n") {
		t.Fatalf("note not on a line of its own: %q", out[len(out)-40:])
	}
}

// TestSubjectMapProgress: opening a node that folds many inquiry-log leaves
// into its subject map shows it as the other long commands do (plain lines
// off a terminal, a bar on one); a small catch-up shows nothing.
func TestSubjectMapProgress(t *testing.T) {
	var b bytes.Buffer
	p := subjectMapProgress(&b, 20)
	for i := range uint64(6) {
		p(i, 5) // below the minimum: silent
	}
	if b.Len() != 0 {
		t.Fatalf("small catch-up shown: %q", b.String())
	}
	p = subjectMapProgress(&b, 20)
	for i := range uint64(21) {
		p(i, 20)
	}
	want := "subject map: folding 20 inquiry log leaves into the map (a first start, a rotated key or a rebuild)\n" +
		"subject map: inquiry log leaves: 0/20 (0%)\nsubject map: inquiry log leaves: 2/20 (10%)\n" +
		"subject map: inquiry log leaves: 4/20 (20%)\nsubject map: inquiry log leaves: 6/20 (30%)\n" +
		"subject map: inquiry log leaves: 8/20 (40%)\nsubject map: inquiry log leaves: 10/20 (50%)\n" +
		"subject map: inquiry log leaves: 12/20 (60%)\nsubject map: inquiry log leaves: 14/20 (70%)\n" +
		"subject map: inquiry log leaves: 16/20 (80%)\nsubject map: inquiry log leaves: 18/20 (90%)\n" +
		"subject map: inquiry log leaves: 20/20 (100%)\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
