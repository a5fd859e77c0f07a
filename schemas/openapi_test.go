package schemas

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestOpenAPIValid(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	known := []string{ListenerMember, ListenerSubject, ListenerOps, ListenerInternal}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ls := OperationListeners(op)
			if len(ls) == 0 {
				t.Errorf("%s %s names no listener in %s", method, path, ExtListeners)
			}
			for _, l := range ls {
				if !slices.Contains(known, l) {
					t.Errorf("%s %s names unknown listener %q", method, path, l)
				}
			}
			if op.Responses.Value("200") == nil {
				t.Errorf("%s %s has no 200 answer", method, path)
			}
			for status, r := range op.Responses.Map() {
				if status == "200" {
					continue
				}
				if r.Ref != "#/components/responses/Error"+status {
					t.Errorf("%s %s answers %s with %q, not the error response of that status", method, path, status, r.Ref)
				}
			}
		}
	}
}

// TestEveryCodeHasStatus: every wire code has an HTTP status, and it is an
// error status (4xx or 5xx).
func TestEveryCodeHasStatus(t *testing.T) {
	codes := Codes()
	if len(codes) == 0 {
		t.Fatal("no codes")
	}
	for _, c := range codes {
		s, ok := codeStatus[c]
		if !ok {
			t.Errorf("%s has no status", c)
		}
		if s < 400 || s > 599 {
			t.Errorf("%s has status %d, not an error status", c, s)
		}
	}
	if Code("no_such_code").Known() {
		t.Error("an undefined code is known")
	}
}

// enum reads a string enum of a component schema.
func enum(t *testing.T, doc *openapi3.T, name string) []Code {
	t.Helper()
	ref, ok := doc.Components.Schemas[name]
	if !ok || ref.Value == nil {
		t.Fatalf("no schema %s", name)
	}
	var out []Code
	for _, v := range ref.Value.Enum {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s: enum value %v is not a string", name, v)
		}
		out = append(out, Code(s))
	}
	return out
}

// TestOpenAPIErrorCodes: the document lists every code of errors.go, each
// under its status and no other, and nothing else.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	all := enum(t, doc, "ErrorCode")
	want := Codes()
	slices.Sort(want)
	got := slices.Clone(all)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ErrorCode enum:\n got %v\nwant %v", got, want)
	}
	statuses, _ := doc.Components.Schemas["ErrorCode"].Value.Extensions["x-status"].(map[string]any)
	byStatus := map[int][]Code{}
	for _, c := range want {
		byStatus[c.Status()] = append(byStatus[c.Status()], c)
		if s, ok := statuses[string(c)].(float64); !ok || int(s) != c.Status() {
			t.Errorf("x-status of %s is %v, want %d", c, statuses[string(c)], c.Status())
		}
	}
	if len(statuses) != len(want) {
		t.Errorf("x-status lists %d codes, want %d", len(statuses), len(want))
	}
	for status, codes := range byStatus {
		s := strconv.Itoa(status)
		got := enum(t, doc, "ErrorCode"+s)
		slices.Sort(got)
		slices.Sort(codes)
		if !slices.Equal(got, codes) {
			t.Errorf("ErrorCode%s:\n got %v\nwant %v", s, got, codes)
		}
		if doc.Components.Responses["Error"+s] == nil {
			t.Errorf("no response Error%s", s)
		}
	}
	for name := range doc.Components.Responses {
		s, err := strconv.Atoi(name[len("Error"):])
		if err != nil || byStatus[s] == nil {
			t.Errorf("response %s names a status no code has", name)
		}
	}
}

// TestOpenAPIListenerJSON: each listener's rendering parses and holds
// exactly the operations naming that listener.
func TestOpenAPIListenerJSON(t *testing.T) {
	full, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{ListenerMember, ListenerSubject, ListenerOps} {
		b, err := OpenAPIJSON(l)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("%s: not JSON", l)
		}
		doc, err := openapi3.NewLoader().LoadFromData(b)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		var want []string
		for path, item := range full.Paths.Map() {
			for method, op := range item.Operations() {
				if slices.Contains(OperationListeners(op), l) {
					want = append(want, method+" "+path)
				}
			}
		}
		slices.Sort(want)
		if got := OpenAPIRoutes(doc); !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("%s serves\n %v\nwant\n %v", l, got, want)
		}
		if !slices.Contains(OpenAPIRoutes(doc), RouteOpenAPI) {
			t.Errorf("%s does not list %s", l, RouteOpenAPI)
		}
	}
}
