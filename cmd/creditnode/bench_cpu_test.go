package main

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis, utime 1234 and stime 66 ticks.
	line := []byte("4242 (creditnode (x) y) S 1 4242 4242 0 -1 4194560 1520 0 0 0 1234 66 0 0 20 0 9 0 1000 1 2 3\n")
	got, err := parseProcStatCPU(line)
	if err != nil || got != 13*time.Second {
		t.Fatalf("got %v, %v; want 13s", got, err)
	}
	for _, bad := range []string{"", "4242 creditnode S 1", "4242 (c) S 1 2 3", "4242 (c) S 1 2 3 4 5 6 7 8 9 10 -1 5 0"} {
		if _, err := parseProcStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// This process's counters as /proc and getrusage report them agree, and
// grow with work done.
func TestCPUClocksAgree(t *testing.T) {
	self, err := selfCPU()
	if err != nil {
		t.Fatal(err)
	}
	viaProc, err := procCPU(os.Getpid())()
	if err != nil {
		t.Fatal(err)
	}
	if d := (self - viaProc).Abs(); d > 50*time.Millisecond+self/10 { // read at two moments, /proc in 10 ms ticks
		t.Fatalf("getrusage %v, /proc %v", self, viaProc)
	}
	w, err := startCPU([]cpuClock{{"self", selfCPU}})
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := 0; i < 50_000_000; i++ { // some CPU work
		x += i % 7
	}
	per, err := w.perQuery(1)
	if err != nil || per[0] <= 0 || x == 0 {
		t.Fatalf("CPU over a busy loop: %v, %v", per, err)
	}
}
