package gate

import (
	"errors"
	"io"
	"net/http"

	"github.com/creditexchange/node/schemas"
)

// ReadBody reads r's body, at most limit bytes. The one rule for a body that
// cannot be read: over limit it is body_too_large, cut short or unreadable it
// is malformed_request. Callers that know the requester log either as a
// denial with that code, as they log every other refusal. limit <= 0 leaves
// the limit to the Mux.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *schemas.Error) {
	rd := r.Body
	if limit > 0 {
		rd = http.MaxBytesReader(w, r.Body, limit)
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, schemas.Errorf(schemas.CodeBodyTooLarge, "body over %d bytes", mbe.Limit)
		}
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "could not read body")
	}
	return body, nil
}
