package node

import (
	"os"
	"path/filepath"
	"testing"
)

// Running tells a serving node from a stopped one by the serve lock: never
// served, serving (two replicas at once), stopped, and a lock file left
// behind by a process that ended.
func TestServeLock(t *testing.T) {
	dir := t.TempDir()
	if running, err := Running(dir); err != nil || running {
		t.Fatalf("never served: running %v, %v", running, err)
	}
	release, err := holdServeLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	replica, err := holdServeLock(dir)
	if err != nil {
		t.Fatalf("a second replica cannot serve: %v", err)
	}
	if running, err := Running(dir); err != nil || !running {
		t.Fatalf("serving: running %v, %v", running, err)
	}
	release()
	if running, err := Running(dir); err != nil || !running {
		t.Fatalf("one replica still serving: running %v, %v", running, err)
	}
	replica()
	if running, err := Running(dir); err != nil || running {
		t.Fatalf("stopped: running %v, %v", running, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ServeLockFile)); err != nil {
		t.Fatalf("the lock file stays (a stale file must not count): %v", err)
	}
}
