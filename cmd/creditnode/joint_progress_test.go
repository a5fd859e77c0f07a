package main

import (
	"bytes"
	"strings"
	"testing"
)

// drive reports a run with one host and 12 iterations.
func drive(p *jointProgress) {
	p.Note("generating a key")
	p.Step("align tax-dept", 0)
	p.Step("binning", 0)
	for it := range 12 {
		p.Step("regression", it)
	}
	p.Step("evaluate", 0)
	p.End(true)
}

func TestJointProgressLines(t *testing.T) {
	var b bytes.Buffer
	drive(newJointProgress(&b, 1, 12)) // a buffer is not a terminal
	want := "generating a key\nalign tax-dept\nbinning\nregression: iteration 1/12\nregression: iteration 11/12\nregression: iteration 12/12\nevaluate\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestJointProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := newJointProgress(&b, 1, 12)
	p.tty = true
	drive(p)
	out := b.String()
	if strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, "generating a key\n") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("lines: %q", out)
	}
	frames := strings.Split(strings.TrimSuffix(strings.TrimPrefix(out, "generating a key\n"), "\n"), "\r")[1:]
	if len(frames) != 16 { // align, binning, 12 iterations, evaluate, done
		t.Fatalf("%d frames: %q", len(frames), frames)
	}
	if f := frames[0]; !strings.HasPrefix(f, "  0% [....") || !strings.Contains(f, "align tax-dept") {
		t.Fatalf("first frame %q", f)
	}
	if f := frames[8]; !strings.HasPrefix(f, " 53% ["+strings.Repeat("#", 16)+".") || !strings.Contains(f, "regression: iteration 7/12") {
		t.Fatalf("frame 8 %q", f)
	}
	if f := frames[15]; !strings.HasPrefix(f, "100% ["+strings.Repeat("#", progressBarWidth)+"]") || !strings.Contains(f, "done") {
		t.Fatalf("last frame %q", f)
	}
}
