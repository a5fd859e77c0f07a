package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// The exit codes, the same for every command.
const (
	exitOK         = 0
	exitFailure    = 1 // the operation failed, or a check found what it looks for
	exitUsage      = 2 // the command line is wrong: unknown command or flag, missing or extra argument, bad value
	exitIncomplete = 3 // the operation ran, but not every source answered (grade, lists check)
)

// usageError is a wrong command line: exit status 2.
type usageError struct{ err error }

func usageErr(err error) error     { return usageError{err} }
func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return exitUsage }

// exitCode maps a command's error to the process exit status.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ec exitCoder
	if asExitCoder(err, &ec) {
		return ec.ExitCode()
	}
	// cobra checks required flags itself and returns an untyped error.
	if strings.HasPrefix(err.Error(), "required flag(s)") {
		return exitUsage
	}
	return exitFailure
}

// markUsageErrors makes every argument error of cmd and its subcommands a
// usageError, and a command that only groups others refuse an unknown
// subcommand (cobra would otherwise print the help and succeed).
func markUsageErrors(cmd *cobra.Command) {
	switch {
	case cmd.Args != nil:
		check := cmd.Args
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageErr(err)
			}
			return nil
		}
	case cmd.HasSubCommands() && !cmd.Runnable():
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr(fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()))
			}
			return c.Help()
		}
	}
	for _, sub := range cmd.Commands() {
		markUsageErrors(sub)
	}
}

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
	logLevel    string // "" means the command's default
	logFormat   string // "json" or "text"
}

// logger is the log of a command run by hand: quiet (warnings and errors)
// unless --log-level asks for more.
func (a *app) logger() *slog.Logger { return a.newLogger(slog.LevelWarn) }

// serviceLogger is the log of `serve`: informational by default.
func (a *app) serviceLogger() *slog.Logger { return a.newLogger(slog.LevelInfo) }

func (a *app) newLogger(def slog.Level) *slog.Logger {
	lvl := def
	switch a.logLevel {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if a.logFormat == "text" {
		return slog.New(slog.NewTextHandler(a.errOut, opts))
	}
	return slog.New(slog.NewJSONHandler(a.errOut, opts))
}

// checkLogFlags refuses log flags with values outside their lists.
func (a *app) checkLogFlags() error {
	switch a.logLevel {
	case "", "debug", "info", "warn", "error":
	default:
		return usageErr(fmt.Errorf("--log-level %q: want debug, info, warn or error", a.logLevel))
	}
	switch a.logFormat {
	case "json", "text":
	default:
		return usageErr(fmt.Errorf("--log-format %q: want json or text", a.logFormat))
	}
	return nil
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
	root.Version = buildVersion().String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "", "log level: debug, info, warn, error (default info for serve, warn for every other command)")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "json", "log format on stderr: json or text")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return a.checkLogFlags() }
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
		a.purposesCmd(),
		a.categoriesCmd(),
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
		a.versionCmd(),
	)
	markUsageErrors(root)
	return root
}
