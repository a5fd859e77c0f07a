// Command creditnode runs and operates a Credit Exchange Node: a member of a
// federation of banks, departments and bureaus that exchange credit
// information under policy, signed, encrypted and logged.
//
// Run `creditnode demo` for a three-node walk-through and `creditnode --help`
// for every command.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run())
}

// run executes the command line and returns the process exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(os.Stdout, os.Stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		if _, silent := err.(silentExit); !silent {
			fmt.Fprintln(os.Stderr, "creditnode:", err)
		}
	}
	return exitCode(err)
}
