package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// Routes of the tamper-evident inquiry log, on both listeners.
const (
	RouteCheckpoint       = "GET /.well-known/checkpoint"
	RouteInclusionProof   = "GET /v1/log/proof/inclusion"
	RouteConsistencyProof = "GET /v1/log/proof/consistency"
)

// Sequencer takes the provider's inquiry-log appends: the tamper-evident
// log's group-commit sequencer (tlog.Sequencer), or the store itself.
type Sequencer = gate.Sequencer

// LogProofs serves the inquiry log's signed checkpoint and proofs
// (tlog.Tree). Errors wrapping tlog.ErrBadRange are the caller's.
type LogProofs interface {
	LatestCheckpoint(ctx context.Context) ([]byte, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
}

func (p *Provider) logRoutes(mux *gate.Mux) {
	mux.HandleFunc(RouteCheckpoint, p.serveCheckpoint)
	mux.HandleFunc(RouteInclusionProof, p.serveInclusionProof)
	mux.HandleFunc(RouteConsistencyProof, p.serveConsistencyProof)
	p.outboundLogRoutes(mux) // tlog_outbound.go
}

func (p *Provider) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	if p.opts.Log == nil {
		p.write(w, r, Answer{Err: schemas.Errorf(schemas.CodeNotFound, "this node publishes no checkpoint")})
		return
	}
	cp, err := p.opts.Log.LatestCheckpoint(r.Context())
	if err != nil {
		p.write(w, r, Answer{Err: logError(err)})
		return
	}
	p.write(w, r, Answer{Body: cp, ContentType: schemas.ContentTypeCheckpoint})
}

func (p *Provider) serveInclusionProof(w http.ResponseWriter, r *http.Request) {
	index, size, e := uintParams(r, "index", "size")
	if e == nil && p.opts.Log == nil {
		e = schemas.Errorf(schemas.CodeNotFound, "this node serves no log proofs")
	}
	if e != nil {
		p.write(w, r, Answer{Err: e})
		return
	}
	hs, err := p.opts.Log.InclusionProof(r.Context(), index, size)
	if err != nil {
		p.write(w, r, Answer{Err: logError(err)})
		return
	}
	p.writeJSON(w, r, schemas.InclusionProof{Index: index, Size: size, Hashes: nonNil(hs)})
}

func (p *Provider) serveConsistencyProof(w http.ResponseWriter, r *http.Request) {
	from, to, e := uintParams(r, "from", "to")
	if e == nil && p.opts.Log == nil {
		e = schemas.Errorf(schemas.CodeNotFound, "this node serves no log proofs")
	}
	if e != nil {
		p.write(w, r, Answer{Err: e})
		return
	}
	hs, err := p.opts.Log.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		p.write(w, r, Answer{Err: logError(err)})
		return
	}
	p.writeJSON(w, r, schemas.ConsistencyProof{From: from, To: to, Hashes: nonNil(hs)})
}

func (p *Provider) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		p.write(w, r, Answer{Err: schemas.Wrap(schemas.CodeInternal, err, "could not encode the proof")})
		return
	}
	p.write(w, r, Answer{Body: append(body, '\n'), ContentType: schemas.ContentTypeJSON})
}

func nonNil(hs [][]byte) [][]byte {
	if hs == nil {
		return [][]byte{}
	}
	return hs
}

// uintParams reads two required decimal query parameters.
func uintParams(r *http.Request, a, b string) (uint64, uint64, *schemas.Error) {
	q := r.URL.Query()
	var out [2]uint64
	for i, name := range []string{a, b} {
		vs := q[name]
		if len(vs) != 1 {
			return 0, 0, schemas.Errorf(schemas.CodeBadLogRange, "want exactly one %q parameter", name)
		}
		v, err := strconv.ParseUint(vs[0], 10, 63)
		if err != nil {
			return 0, 0, schemas.Errorf(schemas.CodeBadLogRange, "%q is not a decimal number", name)
		}
		out[i] = v
	}
	return out[0], out[1], nil
}

// logError maps a tree error to its wire code.
func logError(err error) *schemas.Error {
	switch {
	case errors.Is(err, tlog.ErrBadRange):
		return &schemas.Error{Code: schemas.CodeBadLogRange, Message: err.Error(), Err: err} // sizes only: safe to send
	case errors.Is(err, store.ErrNotFound):
		return schemas.Wrap(schemas.CodeNotFound, err, "no checkpoint published yet")
	}
	return schemas.Wrap(schemas.CodeLogUnavailable, err, "the log could not be read")
}
