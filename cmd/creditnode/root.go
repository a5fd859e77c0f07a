package main

import (
	"errors"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// exitCoder is an error that chooses the process exit code.
type exitCoder interface {
	error
	ExitCode() int
}

func asExitCoder(err error, target *exitCoder) bool { return errors.As(err, target) }

// silentExit reports failure through the exit code only; the command has
// already printed what went wrong.
type silentExit int

func (e silentExit) Error() string { return "one or more checks failed" }
func (e silentExit) ExitCode() int { return int(e) }

// app carries what every command needs: where to print, and a logger.
type app struct {
	out, errOut io.Writer
	logLevel    string
}

func (a *app) logger() *slog.Logger {
	lvl := slog.LevelInfo
	switch a.logLevel {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(a.errOut, &slog.HandlerOptions{Level: lvl}))
}

func newRoot(out, errOut io.Writer) *cobra.Command {
	a := &app{out: out, errOut: errOut}
	root := &cobra.Command{
		Use:           "creditnode",
		Short:         "Run and operate a Credit Exchange Node",
		Long:          "creditnode runs a node of the credit exchange federation: it answers policy-checked, signed and encrypted\ncredit queries over mutual TLS, and logs every inquiry in a log its subjects can read.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(
		a.initCmd(),
		a.serveCmd(),
		a.usccCmd(),
		a.certsCmd(),
		a.registryCmd(),
		a.subjectCmd(),
		a.consentCmd(),
		a.approvalCmd(),
		a.recordsCmd(),
		a.objectionsCmd(),
		a.repairsCmd(),
		a.queryCmd(),
		a.discoverCmd(),
		a.logCmd(),
		a.reportCmd(),
		a.catalogCmd(),
		a.listsCmd(),
		a.gradeCmd(),
		a.commitmentsCmd(),
		a.feedsCmd(),
		a.policyCmd(),
		a.demoCmd(),
		a.benchCmd(),
		a.clientsCmd(),
		a.keysCmd(),
		a.jointCmd(),
	)
	return root
}
