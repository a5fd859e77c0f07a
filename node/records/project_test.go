package records

import (
	"encoding/json"
	"testing"
)

func TestProjectKeepsOnlyAllowedPaths(t *testing.T) {
	data := []byte(`{"year":2025,"tax_paid":1.5,"declared_revenue":9,"owner":{"name":"x","id_no":"secret"},"list":[1,2]}`)
	cases := []struct {
		paths []string
		want  string
	}{
		{[]string{"year", "tax_paid"}, `{"tax_paid":1.5,"year":2025}`},
		{[]string{"owner.name"}, `{"owner":{"name":"x"}}`},
		{[]string{"missing"}, `{}`},
		{nil, `{}`},
	}
	for _, tc := range cases {
		got, err := Project(data, tc.paths)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal(got, &a)
		json.Unmarshal([]byte(tc.want), &b)
		if ga, _ := json.Marshal(a); string(ga) != mustJSON(b) {
			t.Errorf("Project(%v) = %s, want %s", tc.paths, got, tc.want)
		}
	}
}

// gjson's query syntax could widen what leaves: wildcards, queries and
// modifiers are refused outright.
func TestProjectRefusesNonPlainPaths(t *testing.T) {
	for _, p := range []string{"*", "owner.*", "list.#", "@this", "owner|@pretty", "a..b", ".a", "list.#(>1)", "owner\\.name"} {
		if _, err := Project([]byte(`{"a":1}`), []string{p}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

func FuzzProject(f *testing.F) {
	f.Add([]byte(`{"a":{"b":1},"c":2}`), "a.b")
	f.Add([]byte(`[1,2]`), "0")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		out, err := Project(data, []string{path})
		if err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("projection is not a JSON object: %s", out)
		}
		if len(m) > 1 {
			t.Fatalf("one path produced %d top-level fields", len(m))
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
