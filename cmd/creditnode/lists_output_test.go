package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/creditexchange/node/node/lists"
)

// The check says whom it asked: those that answered and those that did not.
func TestListsOutcomeNamesWhomItAsked(t *testing.T) {
	var out bytes.Buffer
	_ = printOutcome(&out, &lists.Outcome{Subject: "91350100M000100Y43", Checked: []string{"market-reg"},
		Failed: []lists.ProviderError{{Provider: "court", Err: errors.New("unreachable")}}})
	for _, want := range []string{"asked court, market-reg (1 answered, 1 did not)", "court: NO ANSWER: unreachable"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
