// Package atomicfile replaces a file durably: the new contents are written to
// a temporary file in the same folder, synced, renamed over the old file, and
// the folder is synced, so after a crash the path holds either the old or the
// new contents, never a mix or nothing. The node's small state files (policy
// bundle serial, witness state, internal clients, subject certificates) are
// written through it.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, with permissions mode, durably. The
// folder must exist.
func Write(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // nothing is left to remove after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
