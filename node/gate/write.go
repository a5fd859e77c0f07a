package gate

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/creditexchange/node/schemas"
)

// Failure is an error answer: the wire error, the request id once known and
// the inquiry-log entry that recorded it, if any.
type Failure struct {
	Err       *schemas.Error
	RequestID string
	LogIndex  *uint64
}

// WriteError is the one place where a wire error becomes an HTTP response:
// the code's status and the stable error body. Failures on the server's side
// (status 5xx) are logged with their cause; the cause never reaches the client.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, f Failure) {
	e := f.Err
	if e.Code.Status() >= 500 && log != nil {
		log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("path", r.URL.Path),
			slog.String("code", string(e.Code)), slog.String("request_id", f.RequestID), slog.Any("cause", e.Err))
	}
	w.Header().Set("Content-Type", schemas.ContentTypeError)
	w.WriteHeader(e.Code.Status())
	json.NewEncoder(w).Encode(schemas.ErrorBody{Error: schemas.ErrorDetail{
		Code: e.Code, Message: e.Message, RequestID: f.RequestID, LogIndex: f.LogIndex}})
}

// WriteBody writes a successful answer.
func WriteBody(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// WriteJSON writes v as a successful JSON answer.
func WriteJSON(w http.ResponseWriter, r *http.Request, log *slog.Logger, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, r, log, Failure{Err: schemas.Wrap(schemas.CodeInternal, err, "encode answer")})
		return
	}
	WriteBody(w, schemas.ContentTypeJSON, append(b, '\n'))
}
