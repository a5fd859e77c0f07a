package records

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Project reduces a JSON object to the given gjson paths. Only plain dotted
// paths of names are accepted (no wildcards, queries or modifiers), so the
// allowed list is exactly what can leave. Missing fields are omitted; the
// output nests dotted paths back into objects.
func Project(data []byte, paths []string) (json.RawMessage, error) {
	out := map[string]any{}
	for _, path := range paths {
		if !plainPath(path) {
			return nil, fmt.Errorf("records: field path %q is not a plain dotted path", path)
		}
		v := gjson.GetBytes(data, path)
		if !v.Exists() {
			continue
		}
		parts := strings.Split(path, ".")
		m := out
		for _, k := range parts[:len(parts)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = json.RawMessage(v.Raw)
	}
	return json.Marshal(out)
}

func plainPath(p string) bool {
	if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
