package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Every command answers with the same exit codes: 0 ok, 1 the operation
// failed, 2 the command line is wrong.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want int
		out  string // in stdout or the error
	}{
		{"version", []string{"version"}, exitOK, "go1."},
		{"--version", []string{"--version"}, exitOK, "creditnode "},
		{"unknown command", []string{"nosuch"}, exitUsage, `unknown command "nosuch"`},
		{"unknown subcommand", []string{"consent", "nosuch"}, exitUsage, `unknown command "nosuch"`},
		{"unknown flag", []string{"uscc", "check", "--nosuch"}, exitUsage, "unknown flag"},
		{"extra argument", []string{"version", "extra"}, exitUsage, "unknown command"},
		{"bad flag value", []string{"consent", "grant", "--max-uses", "many"}, exitUsage, "invalid argument"},
		{"misspelt purpose", []string{"consent", "grant", "--key", dir + "/k", "--cert", dir + "/c", "--requester", "bank-a",
			"--purpose", "loan_aproval", "--categories", "tax_payment", "--providers", "tax-dept"}, exitUsage, `did you mean "loan_approval"`},
		{"misspelt category", []string{"consent", "grant", "--requester", "bank-a",
			"--purpose", "loan_approval", "--categories", "tax_paymnet", "--providers", "tax-dept"}, exitUsage, `did you mean "tax_payment"`},
		{"consent naming no provider", []string{"consent", "grant", "--requester", "bank-a",
			"--purpose", "loan_approval", "--categories", "tax_payment"}, exitUsage, "--providers"},
		{"operation fails", []string{"consent", "grant", "--key", dir + "/missing.key", "--cert", dir + "/missing.cert", "--requester", "bank-a",
			"--purpose", "loan_approval", "--categories", "tax_payment", "--providers", "tax-dept"}, exitFailure, "missing.key"},
		{"check finds an invalid code", []string{"uscc", "check", "91350100M000100Y4X"}, exitFailure, ""},
		{"check passes", []string{"uscc", "check", "91350100M000100Y43"}, exitOK, "91350100M000100Y43"},
		{"bad log level", []string{"--log-level", "loud", "version"}, exitUsage, "--log-level"},
		{"bad log format", []string{"--log-format", "xml", "version"}, exitUsage, "--log-format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			root := newRoot(&out, &errOut)
			root.SetArgs(tc.args)
			err := root.ExecuteContext(context.Background())
			if got := exitCode(err); got != tc.want {
				t.Fatalf("exit %d (%v), want %d\nstdout: %s", got, err, tc.want, out.String())
			}
			text := out.String()
			if err != nil {
				text += err.Error()
			}
			if !strings.Contains(text, tc.out) {
				t.Fatalf("output %q lacks %q", text, tc.out)
			}
		})
	}
}

// Commands run by hand log only warnings and errors unless asked; serve logs
// information; --log-format text writes key=value lines.
func TestLogDefaults(t *testing.T) {
	for _, tc := range []struct {
		name          string
		a             app
		service       bool
		info, warn    bool
		wantTextStyle bool
	}{
		{"command", app{logFormat: "json"}, false, false, true, false},
		{"serve", app{logFormat: "json"}, true, true, true, false},
		{"command asked for info", app{logLevel: "info", logFormat: "json"}, false, true, true, false},
		{"serve asked for errors only", app{logLevel: "error", logFormat: "json"}, true, false, false, false},
		{"text", app{logFormat: "text"}, false, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.a.errOut = &buf
			l := tc.a.logger()
			if tc.service {
				l = tc.a.serviceLogger()
			}
			l.Info("an info line")
			l.Warn("a warning")
			got := buf.String()
			if strings.Contains(got, "an info line") != tc.info || strings.Contains(got, "a warning") != tc.warn {
				t.Fatalf("log %q: want info %v, warn %v", got, tc.info, tc.warn)
			}
			if tc.warn && strings.HasPrefix(got, "{") == tc.wantTextStyle {
				t.Fatalf("log %q: want text %v", got, tc.wantTextStyle)
			}
		})
	}
}
