package schemas

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The OpenAPI contract of every HTTP surface of a node is openapi.yaml, in
// OpenAPI 3.1: kin-openapi (v0.153) loads and validates 3.1 documents, and
// its openapi3filter validates requests and answers against them with JSON
// Schema 2020-12, which the tests use (schemas/openapitest). Each operation
// names the listeners serving it in the extension "x-listeners"; a listener
// serves its part at RouteOpenAPI.
//
// A listener joins the contract in four steps: its operations in
// openapi.yaml name it in x-listeners (ListenerInternal is reserved for the
// staff API), its mux registers RouteOpenAPI (gate.OpenAPIHandler), the
// node wraps its handler with Node.Wrap under its name, and the node
// tests' ListenerRoutes lists its mux's patterns, so that TestOpenAPIRoutes
// holds its routes to the document and the end-to-end suites validate its
// exchanges.

//go:embed openapi.yaml
var openapiYAML []byte

// The listeners of a node, as the document's "x-listeners" names them.
const (
	ListenerMember   = "member"   // mutual-TLS member API
	ListenerSubject  = "subject"  // subject API over server TLS
	ListenerOps      = "ops"      // plain-HTTP operations listener on loopback
	ListenerInternal = "internal" // staff API
)

// RouteOpenAPI serves a listener's part of the document on that listener.
const RouteOpenAPI = "GET /openapi.json"

// ExtListeners is the operation extension naming the listeners serving it.
const ExtListeners = "x-listeners"

// OpenAPIYAML is the embedded document as written.
func OpenAPIYAML() []byte { return slices.Clone(openapiYAML) }

// OpenAPI parses and validates the embedded document; every call returns a
// new copy.
func OpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return doc, nil
}

// OperationListeners lists the listeners an operation names in x-listeners.
func OperationListeners(op *openapi3.Operation) []string {
	raw, _ := op.Extensions[ExtListeners].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// ListenerOpenAPI is the document holding only the operations that
// listener serves. On the member listener every operation requires mutual
// TLS (the handshake checks the client certificate), so that document
// states it for all of them.
func ListenerOpenAPI(listener string) (*openapi3.T, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !slices.Contains(OperationListeners(op), listener) {
				item.SetOperation(method, nil)
			}
		}
		if len(item.Operations()) == 0 {
			doc.Paths.Delete(path)
		}
	}
	if listener == ListenerMember {
		doc.Security = openapi3.SecurityRequirements{{"mutualTLS": []string{}}}
	}
	return doc, nil
}

// OpenAPIJSON is ListenerOpenAPI(listener) as JSON, what RouteOpenAPI serves.
func OpenAPIJSON(listener string) ([]byte, error) {
	doc, err := ListenerOpenAPI(listener)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// OpenAPIRoutes lists a document's operations as ServeMux patterns
// ("GET /v1/jwks"), sorted.
func OpenAPIRoutes(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}
