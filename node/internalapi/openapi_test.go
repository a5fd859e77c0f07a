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
}

// The OpenAPI document (schemas/openapi.yaml) names every route the internal
// listener serves, and each code an internal route lists under a status is
// a defined code with that status.
func TestOpenAPIFragmentMatchesRoutes(t *testing.T) {
	b, err := os.ReadFile("../../schemas/openapi.yaml")
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
	internal := 1 // GET /openapi.json, served by every listener
	for path := range doc.Paths {
		if strings.HasPrefix(path, "/internal/") {
			internal++
		}
	}
	if len(patterns) != internal {
		t.Errorf("%d routes served, %d internal paths documented", len(patterns), internal)
	}
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("route %s is not documented", p)
			continue
		}
		if !strings.HasPrefix(path, "/internal/") {
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
}
