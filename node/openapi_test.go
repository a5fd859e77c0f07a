package node_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/joint"
	"github.com/creditexchange/node/node/joint/remote"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/openapitest"
)

// TestOpenAPIRoutes: every route a listener of a fully configured node
// registers (provider, catalogue, feeds, joint modelling, witness, metrics)
// has an operation naming that listener in the OpenAPI document, and every
// such operation has a route.
func TestOpenAPIRoutes(t *testing.T) {
	dir := t.TempDir()
	n, err := devnet.Create(dir, specs())
	if err != nil {
		t.Fatal(err)
	}
	// A joint modelling host, so that the joint routes are registered.
	syn := joint.GenerateSME(joint.SynthOptions{Members: 30, GuestFeatures: 2, HostFeatures: []int{2}, Seed: 1})
	if err := os.MkdirAll(filepath.Join(n.NodeDir("tax-dept"), "joint"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeJointCSV(t, filepath.Join(n.NodeDir("tax-dept"), config.JointFeaturesFile), syn.Hosts[0], "tax_payment.")
	// The internal API, so that its routes are registered (nothing listens).
	cfg, err := config.Load(n.NodeDir("tax-dept"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.InternalListen, cfg.Dir = "127.0.0.1:1", ""
	cfg.Portal.Enabled = true // and the subject portal's pages
	if err := cfg.Save(n.NodeDir("tax-dept")); err != nil {
		t.Fatal(err)
	}
	nd, err := node.Open(context.Background(), n.NodeDir("tax-dept"), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	routes := node.ListenerRoutes(nd)
	// The routes of every part are there: the test would otherwise pass on
	// a node missing them.
	for _, r := range []string{server.RouteQuery, feeds.Route, remote.RoutePropose, remote.RouteAggregate, "GET /v1/catalog",
		"GET /v1/witness/cosigned/{peer}", "GET /metrics", schemas.RouteOpenAPI} {
		if !slices.Contains(routes[schemas.ListenerMember], r) {
			t.Errorf("the member listener has no route %s", r)
		}
	}
	if !slices.Contains(routes[schemas.ListenerSubject], "GET /portal/") {
		t.Errorf("the subject listener has no portal: %v", routes[schemas.ListenerSubject])
	}
	if !slices.Contains(routes[schemas.ListenerInternal], "POST /internal/v1/query") {
		t.Errorf("the internal listener has no query route: %v", routes[schemas.ListenerInternal])
	}
	for listener, got := range routes {
		doc, err := schemas.ListenerOpenAPI(listener)
		if err != nil {
			t.Fatal(err)
		}
		want := schemas.OpenAPIRoutes(doc)
		for _, r := range got {
			if !slices.Contains(want, r) {
				t.Errorf("%s listener: route %s has no operation in schemas/openapi.yaml", listener, r)
			}
		}
		for _, r := range want {
			if !slices.Contains(got, r) {
				t.Errorf("%s listener: operation %s in schemas/openapi.yaml has no route", listener, r)
			}
		}
	}
}

// TestOpenAPIServed: each listener serves, at GET /openapi.json, a document
// that parses and holds exactly the operations of that listener; the
// listeners' other plain routes answer as the document says (every exchange
// here is validated by the listeners, see validateExchanges).
func TestOpenAPIServed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := l.Addr().String()
	l.Close()
	f := startFed(t, func(n *devnet.Network) {
		dir := n.NodeDir("tax-dept")
		cfg, err := config.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.OpsListen = opsAddr
		if err := cfg.Save(dir); err != nil {
			t.Fatal(err)
		}
	})
	for id, nd := range f.nodes {
		if nd.Wrap == nil {
			t.Fatalf("%s: the end-to-end federation does not validate its exchanges", id)
		}
	}
	opsGet := func(path string) (int, []byte) {
		resp, err := http.Get("http://" + opsAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	get := map[string]func(path string) (int, []byte){
		schemas.ListenerMember: func(path string) (int, []byte) {
			return memberGet(t, f.net, "bank-a", hostPort(f.memberURL("tax-dept"))+path)
		},
		schemas.ListenerSubject: func(path string) (int, []byte) { return f.publicGet(t, f.publicURL("tax-dept")+path) },
		schemas.ListenerOps:     opsGet,
	}
	for listener, get := range get {
		status, body := get("/openapi.json")
		if status != http.StatusOK {
			t.Fatalf("%s: GET /openapi.json answered %d: %s", listener, status, body)
		}
		served, err := openapi3.NewLoader().LoadFromData(body)
		if err != nil {
			t.Fatalf("%s: served document: %v", listener, err)
		}
		if err := served.Validate(context.Background()); err != nil {
			t.Fatalf("%s: served document: %v", listener, err)
		}
		doc, err := schemas.ListenerOpenAPI(listener)
		if err != nil {
			t.Fatal(err)
		}
		got, want := schemas.OpenAPIRoutes(served), schemas.OpenAPIRoutes(doc)
		if !slices.Equal(got, want) {
			t.Errorf("%s serves the operations\n %v\nwant\n %v", listener, got, want)
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			if status, body := get(path); status != http.StatusOK {
				t.Errorf("%s: GET %s answered %d: %s", listener, path, status, body)
			}
		}
		if status, _ := get("/v1/no-such-route"); status != http.StatusNotFound {
			t.Errorf("%s: an unknown route answered %d", listener, status)
		}
	}
	for _, listener := range []string{schemas.ListenerMember, schemas.ListenerOps} {
		if status, body := get[listener]("/metrics"); status != http.StatusOK || !strings.Contains(string(body), "creditnode_") {
			t.Errorf("%s: GET /metrics answered %d", listener, status)
		}
	}
	if status, _ := get[schemas.ListenerSubject]("/metrics"); status != http.StatusNotFound {
		t.Errorf("the subject listener serves /metrics (%d)", status)
	}
}

// TestOpenAPIJOSETypes: every token type the document names (x-jose) is one
// the code defines, and every token type sent over HTTP is named.
func TestOpenAPIJOSETypes(t *testing.T) {
	doc, err := schemas.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	onWire := []string{schemas.TypQuery, schemas.TypResponse, schemas.TypDiscover, schemas.TypDiscovery, schemas.TypCatalog,
		schemas.TypJointRequest, schemas.TypJointAnswer, feeds.TypRequest, schemas.TypSubjectRead, schemas.TypSubjectLog,
		schemas.TypRevocation, schemas.TypObjection, schemas.TypRepair, schemas.TypRightsStatus, schemas.TypRightsList, schemas.TypReportRequest, schemas.TypSubjectReport,
		schemas.TypRegistry, schemas.TypConsentStatus, schemas.TypConsentStatusAnswer}
	named := map[string]bool{}
	note := func(where string, c openapi3.Content) {
		for media, mt := range c {
			ext, ok := mt.Extensions[openapitest.ExtJOSE].(map[string]any)
			if !ok {
				if media == schemas.ContentTypeJOSE {
					t.Errorf("%s: a JOSE body without %s", where, openapitest.ExtJOSE)
				}
				continue
			}
			typ, _ := ext["typ"].(string)
			if !slices.Contains(onWire, typ) {
				t.Errorf("%s: token type %q is not defined", where, typ)
			}
			named[typ] = true
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				note(method+" "+path+" request", op.RequestBody.Value.Content)
			}
			if ok := op.Responses.Value("200"); ok != nil {
				note(method+" "+path+" answer", ok.Value.Content)
			}
		}
	}
	for _, typ := range onWire {
		if !named[typ] {
			t.Errorf("token type %q is not in the document", typ)
		}
	}
}
