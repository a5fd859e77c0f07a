package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ServeLockFile is the file in the node directory on which every process
// serving the node holds a shared lock (flock(2)) while it serves. A command
// that would act as the node (open its store, append to its logs) checks it
// with Running first, and goes through the node's internal API instead. The
// lock is the kernel's: it ends with the process, however the process ends,
// so a stale file never makes a stopped node look running. Shared, so that
// several replicas of one node may serve at once (over one PostgreSQL
// database); a command probes with an exclusive lock.
const ServeLockFile = "serve.lock"

// holdServeLock takes the shared serve lock of the node directory dir and
// returns its release.
func holdServeLock(dir string) (release func() error, err error) {
	f, err := os.OpenFile(filepath.Join(dir, ServeLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("node: %s is locked by a process that is not serving it: %w", f.Name(), err)
	}
	return f.Close, nil // closing the file releases the lock
}

// Running reports whether a process is serving the node in dir: one holds
// the serve lock.
func Running(dir string) (bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, ServeLockFile), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // never served
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		return false, nil // closing f releases the probe
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, fmt.Errorf("node: probing %s: %w", f.Name(), err)
	}
}
