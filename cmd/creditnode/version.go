package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at link time by release builds:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD) -X main.buildTime=$(date -u +%FT%TZ)" ./cmd/creditnode
//
// Without them, the commit and time come from the build information Go
// records when it builds inside a git checkout (not with -buildvcs=false).
var (
	version   = "devel"
	commit    = ""
	buildTime = ""
)

// versionInfo is what `creditnode version` prints.
type versionInfo struct {
	Version, Commit, BuildTime, GoVersion string
	Modified                              bool
}

func buildVersion() versionInfo {
	v := versionInfo{Version: version, Commit: commit, BuildTime: buildTime, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.BuildTime == "" {
					v.BuildTime = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
		if v.Version == "devel" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
	}
	return v
}

func (v versionInfo) String() string {
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	c := orUnknown(v.Commit)
	if v.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("creditnode %s\ncommit %s\nbuilt %s\n%s", v.Version, c, orUnknown(v.BuildTime), v.GoVersion)
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build time and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.out, buildVersion())
			return nil
		},
	}
}
