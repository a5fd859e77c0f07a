package main

import (
	"os"
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

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "A federation by hand")
	if !ok {
		t.Fatal("README has no \"A federation by hand\" section")
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the section has no sh code block")
	}
	got := strings.Split(strings.TrimRight(block, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README block differs from walkthrough.txtar:\n--- README\n%s\n--- script\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
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
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "The internal API with curl")
	if !ok {
		t.Fatal("README has no \"The internal API with curl\" section")
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the section has no sh code block")
	}
	if block != want {
		t.Errorf("README block differs from walkthrough.sh:\n--- README\n%s\n--- script\n%s", block, want)
	}
}
