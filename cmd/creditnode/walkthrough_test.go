package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestReadmeWalkthroughIsTheScript: the README's "A federation by hand"
// block is the commands testdata/script/walkthrough.txtar runs (TestScripts),
// in order, without the testscript syntax: `exec` dropped, a background
// `&name&` written as `&`, the record file extracted from the script, and
// the server stopped at the end.
func TestReadmeWalkthroughIsTheScript(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/script/walkthrough.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		cmd, ok := strings.CutPrefix(line, "exec ")
		if !ok {
			continue
		}
		if strings.HasPrefix(cmd, "creditnode records import") {
			want = append(want, "sed -n '/^-- records.jsonl --$/,$p' cmd/creditnode/testdata/script/walkthrough.txtar | tail -n +2 > records.jsonl   # one record of each category")
		}
		if i := strings.Index(cmd, " &"); i >= 0 && strings.HasSuffix(cmd, "&") {
			cmd = cmd[:i] + " &"
		}
		want = append(want, cmd)
	}
	want = append(want, "kill %1")

	block := readmeBlock(t, "A federation by hand", false)
	got := strings.Split(strings.TrimRight(block, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README block differs from walkthrough.txtar:\n--- README\n%s\n--- script\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadmeJointIsTheScript: the README's joint modelling example (the
// first sh code block of its "Joint modelling" section) is the block of
// commands testdata/script/joint_readme.txtar runs between its markers,
// without the testscript syntax (`exec` dropped, `&name&` written `&`, the
// background node stopped with `kill %1`, waits and checks left out), and
// the script first builds the federation of "A federation by hand" with
// exactly the walkthrough's first commands.
func TestReadmeJointIsTheScript(t *testing.T) {
	execs := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if cmd, ok := strings.CutPrefix(l, "exec "); ok {
				out = append(out, cmd)
			}
		}
		return out
	}
	comment := func(file string) []string {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(ar.Comment), "\n")
	}
	lines := comment("testdata/script/joint_readme.txtar")
	begin, end := slices.Index(lines, "# README joint block: begin"), slices.Index(lines, "# README joint block: end")
	if begin < 0 || end < begin {
		t.Fatal("joint_readme.txtar lacks its README block markers")
	}
	setup, walk := execs(lines[:begin]), execs(comment("testdata/script/walkthrough.txtar"))
	if len(setup) == 0 || len(setup) > len(walk) || !slices.Equal(setup, walk[:len(setup)]) {
		t.Fatalf("the script's federation is not the walkthrough's first commands:\n%s", strings.Join(setup, "\n"))
	}
	var want []string
	for _, l := range lines[begin+1 : end] {
		switch {
		case strings.HasPrefix(l, "exec "):
			cmd := strings.TrimPrefix(l, "exec ")
			if i := strings.Index(cmd, " &"); i >= 0 && strings.HasSuffix(cmd, "&") {
				cmd = cmd[:i] + " &"
			}
			want = append(want, cmd)
		case strings.HasPrefix(l, "mkdir "), strings.HasPrefix(l, "cp "):
			want = append(want, l)
		case strings.HasPrefix(l, "kill "):
			want = append(want, "kill %1")
		}
	}

	block := readmeBlock(t, "\n## Joint modelling\n", true)
	got := strings.Split(strings.TrimRight(block, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README joint block differs from joint_readme.txtar:\n--- README\n%s\n--- script\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadmeCurlIsTheScript: the README's internal API with curl block is
// walkthrough.sh of testdata/script/internal_curl.txtar, which TestScripts
// runs with bash.
func TestReadmeCurlIsTheScript(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/script/internal_curl.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, f := range ar.Files {
		if f.Name == "walkthrough.sh" {
			want = string(f.Data)
		}
	}
	if want == "" {
		t.Fatal("internal_curl.txtar has no walkthrough.sh")
	}
	block := readmeBlock(t, "The internal API with curl", false)
	if block != want {
		t.Errorf("README block differs from walkthrough.sh:\n--- README\n%s\n--- script\n%s", block, want)
	}
}

// readmeBlock is the first sh code block of the README after marker (up to
// the next "## " heading, if stop is set).
func readmeBlock(t *testing.T, marker string, stop bool) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), marker)
	if !ok {
		t.Fatalf("README has no %q section", strings.TrimSpace(marker))
	}
	if stop {
		section, _, _ = strings.Cut(section, "\n## ")
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatalf("README section %q has no sh code block", strings.TrimSpace(marker))
	}
	return block
}
