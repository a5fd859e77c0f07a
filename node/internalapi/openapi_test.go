package internalapi

import (
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/schemas"
)

type fragment struct {
	Paths map[string]map[string]struct {
		Responses map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"responses"`
	} `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Enum  []string `yaml:"enum"`
			AllOf []struct {
				Properties struct {
					Error struct {
						Properties struct {
							Code struct {
								Enum []string `yaml:"enum"`
							} `yaml:"code"`
						} `yaml:"properties"`
					} `yaml:"error"`
				} `yaml:"properties"`
			} `yaml:"allOf"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

// The OpenAPI fragment names every route the internal listener serves, and
// each code it lists under a status is a defined code with that status.
func TestOpenAPIFragmentMatchesRoutes(t *testing.T) {
	b, err := os.ReadFile("openapi-internal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc fragment
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	nk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	api, err := New(Options{ID: "bank-a", NodeDir: t.TempDir(), Keys: nk, Peer: &countingPeer{}, Outbound: emptyOutbound{},
		Registry: func(time.Time) (*registry.Registry, error) { return nil, nil }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	patterns := api.Handler().Patterns()
	if len(patterns) != len(doc.Paths) {
		t.Errorf("%d routes served, %d paths documented", len(patterns), len(doc.Paths))
	}
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("route %s is not documented", p)
			continue
		}
		for status, r := range op.Responses {
			if status == "200" {
				continue
			}
			for _, c := range strings.Split(r.Description, ", ") {
				code := schemas.Code(c)
				if !code.Known() || strconv.Itoa(code.Status()) != status {
					t.Errorf("%s: %q listed under %s (status %d)", p, c, status, code.Status())
				}
				if !slices.Contains(doc.Components.Schemas["InternalErrorBody"+status].AllOf[1].Properties.Error.Properties.Code.Enum, c) {
					t.Errorf("%s: %s missing from InternalErrorBody%s", p, c, status)
				}
			}
		}
	}
	// What the bad-input tests answer on the query route is listed there.
	query := doc.Paths["/internal/v1/query"]["post"]
	for _, code := range []schemas.Code{schemas.CodeClientUnknown, schemas.CodeClientRevoked, schemas.CodeClientNotPermitted,
		schemas.CodeStaffIDMissing, schemas.CodeBusinessRefMissing, schemas.CodeIdempotencyKeyMissing, schemas.CodeIdempotencyConflict,
		schemas.CodeBodyTooLarge, schemas.CodeMalformedRequest} {
		r := query.Responses[strconv.Itoa(code.Status())]
		if !slices.Contains(strings.Split(r.Description, ", "), string(code)) {
			t.Errorf("query route does not list %s", code)
		}
	}
	for _, c := range doc.Components.Schemas["InternalErrorCode"].Enum {
		if !schemas.Code(c).Known() {
			t.Errorf("InternalErrorCode lists undefined code %s", c)
		}
	}
}
