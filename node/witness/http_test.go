package witness

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/schemas"
)

type fixedCheckpoint []byte

func (f fixedCheckpoint) Latest() ([]byte, error) { return f, nil }

type countingProver struct{ calls int }

func (p *countingProver) ConsistencyProof(context.Context, uint64, uint64) ([][]byte, error) {
	p.calls++
	return nil, nil
}

// TestHandlerErrorBodies: unknown paths and malformed proof parameters get
// the stable JSON error body, with not_found and bad_log_range as on the
// log proof endpoints of node/server.
func TestHandlerErrorBodies(t *testing.T) {
	w := &Witness{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	prover := &countingProver{}
	h := Handler(w, fixedCheckpoint("cp\n"), prover)
	for _, tt := range []struct {
		method, target string
		status         int
		code           schemas.Code
	}{
		{"GET", "/v1/witness/nonexistent", http.StatusNotFound, schemas.CodeNotFound},
		{"GET", "/v1/witness/", http.StatusNotFound, schemas.CodeNotFound},
		{"GET", "/elsewhere", http.StatusNotFound, schemas.CodeNotFound},
		{"GET", PathConsistency + "?from=x&to=2", schemas.CodeBadLogRange.Status(), schemas.CodeBadLogRange},
		{"GET", PathConsistency + "?from=1", schemas.CodeBadLogRange.Status(), schemas.CodeBadLogRange},
		{"GET", PathConsistency + "?from=1&from=1&to=2", schemas.CodeBadLogRange.Status(), schemas.CodeBadLogRange},
		{"GET", PathConsistency + "?from=-1&to=2", schemas.CodeBadLogRange.Status(), schemas.CodeBadLogRange},
		{"GET", PathConsistency + "?from=1&to=18446744073709551615", schemas.CodeBadLogRange.Status(), schemas.CodeBadLogRange},
		{"GET", PathConsistency + "?from=3&to=2", schemas.CodeBadLogRange.Status(), schemas.CodeBadLogRange},
		{"GET", PathConsistency + "?from=0&to=2", schemas.CodeBadLogRange.Status(), schemas.CodeBadLogRange},
	} {
		t.Run(tt.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != schemas.ContentTypeError {
				t.Fatalf("content type %q, want %q", ct, schemas.ContentTypeError)
			}
			var body schemas.ErrorBody
			dec := json.NewDecoder(rec.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatalf("body is not an ErrorBody: %v", err)
			}
			if body.Error.Code != tt.code {
				t.Fatalf("code %q, want %q", body.Error.Code, tt.code)
			}
		})
	}
	if prover.calls != 0 {
		t.Fatalf("prover called %d times for bad ranges", prover.calls)
	}
	// A known route still answers.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", PathCheckpoint, nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "cp\n" {
		t.Fatalf("checkpoint: %d %q", rec.Code, rec.Body.String())
	}
}

// TestHandlerErrorsAreTheGateBody: the witness API's errors are written by
// gate.WriteError, byte for byte the body and headers of every other
// member route.
func TestHandlerErrorsAreTheGateBody(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := Handler(&Witness{log: log}, fixedCheckpoint("cp\n"), &countingProver{})
	for target, want := range map[string]*schemas.Error{
		"/v1/witness/nonexistent":        schemas.Errorf(schemas.CodeNotFound, "no such endpoint"),
		PathConsistency + "?from=3&to=2": schemas.Errorf(schemas.CodeBadLogRange, "no consistency proof from 3 to 2"),
	} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", target, nil)
		h.ServeHTTP(rec, r)
		ref := httptest.NewRecorder()
		gate.WriteError(ref, r, log, gate.Failure{Err: want})
		if rec.Code != ref.Code || rec.Body.String() != ref.Body.String() || rec.Header().Get("Content-Type") != ref.Header().Get("Content-Type") {
			t.Errorf("%s: %d %q, want %d %q", target, rec.Code, rec.Body.String(), ref.Code, ref.Body.String())
		}
	}
}
