package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"creditnode": func() { os.Exit(run()) },
	})
}

// TestScripts runs the command-line scripts in testdata/script: each is a
// session a user could type, with the output it must print. Each starts with
// the README's example data (testdata/joint) at the path the README names
// from the repository root.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Cmds:  map[string]func(ts *testscript.TestScript, neg bool, args []string){"waitlisten": waitListen},
		Setup: copyExampleData,
	})
}

// copyExampleData copies testdata/joint's CSV files to
// $WORK/cmd/creditnode/testdata/joint.
func copyExampleData(env *testscript.Env) error {
	files, err := filepath.Glob(filepath.Join("testdata", "joint", "*.csv"))
	if err != nil {
		return err
	}
	dst := filepath.Join(env.WorkDir, "cmd", "creditnode", "testdata", "joint")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// waitListen waits up to 20 s for each host:port argument to accept TCP
// connections (a node started in the background with `&`).
func waitListen(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitlisten")
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range args {
		for {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s is not listening: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
