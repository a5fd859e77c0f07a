package server

import (
	"log/slog"
	"net/http"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/schemas"
)

// OpenAPIHandler serves listener's part of the OpenAPI document
// (schemas/openapi.yaml) as JSON, at schemas.RouteOpenAPI.
func OpenAPIHandler(listener string, log *slog.Logger) http.Handler {
	doc, err := schemas.OpenAPIJSON(listener)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			gate.WriteError(w, r, log, gate.Failure{Err: schemas.Wrap(schemas.CodeInternal, err, "no OpenAPI document")})
			return
		}
		gate.WriteBody(w, schemas.ContentTypeJSON, doc)
	})
}
