package gate

import (
	"log/slog"
	"net/http"

	"github.com/creditexchange/node/schemas"
)

// OpenAPIHandler serves listener's part of the OpenAPI document
// (schemas/openapi.yaml) as JSON, at schemas.RouteOpenAPI.
func OpenAPIHandler(listener string, log *slog.Logger) http.Handler {
	doc, err := schemas.OpenAPIJSON(listener)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			WriteError(w, r, log, Failure{Err: schemas.Wrap(schemas.CodeInternal, err, "no OpenAPI document")})
			return
		}
		WriteBody(w, schemas.ContentTypeJSON, doc)
	})
}
