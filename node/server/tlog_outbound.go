package server

import (
	"net/http"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/schemas"
)

// Routes of the requester's tamper-evident outbound log, on both listeners:
// the same answers as the inquiry log's routes, for the log of what this
// node asked of others and the receipts it got.
const (
	RouteOutboundCheckpoint       = "GET /.well-known/checkpoint/outbound"
	RouteOutboundInclusionProof   = "GET /v1/log/outbound/proof/inclusion"
	RouteOutboundConsistencyProof = "GET /v1/log/outbound/proof/consistency"
)

func (p *Provider) outboundLogRoutes(mux *gate.Mux) {
	mux.HandleFunc(RouteOutboundCheckpoint, p.serveOutboundCheckpoint)
	mux.HandleFunc(RouteOutboundInclusionProof, p.serveOutboundInclusionProof)
	mux.HandleFunc(RouteOutboundConsistencyProof, p.serveOutboundConsistencyProof)
}

func (p *Provider) serveOutboundCheckpoint(w http.ResponseWriter, r *http.Request) {
	if p.opts.OutboundLog == nil {
		p.write(w, r, Answer{Err: schemas.Errorf(schemas.CodeNotFound, "this node publishes no outbound checkpoint")})
		return
	}
	cp, err := p.opts.OutboundLog.LatestCheckpoint(r.Context())
	if err != nil {
		p.write(w, r, Answer{Err: logError(err)})
		return
	}
	p.write(w, r, Answer{Body: cp, ContentType: schemas.ContentTypeCheckpoint})
}

func (p *Provider) serveOutboundInclusionProof(w http.ResponseWriter, r *http.Request) {
	index, size, e := uintParams(r, "index", "size")
	if e == nil && p.opts.OutboundLog == nil {
		e = schemas.Errorf(schemas.CodeNotFound, "this node serves no outbound log proofs")
	}
	if e != nil {
		p.write(w, r, Answer{Err: e})
		return
	}
	hs, err := p.opts.OutboundLog.InclusionProof(r.Context(), index, size)
	if err != nil {
		p.write(w, r, Answer{Err: logError(err)})
		return
	}
	p.writeJSON(w, r, schemas.InclusionProof{Index: index, Size: size, Hashes: nonNil(hs)})
}

func (p *Provider) serveOutboundConsistencyProof(w http.ResponseWriter, r *http.Request) {
	from, to, e := uintParams(r, "from", "to")
	if e == nil && p.opts.OutboundLog == nil {
		e = schemas.Errorf(schemas.CodeNotFound, "this node serves no outbound log proofs")
	}
	if e != nil {
		p.write(w, r, Answer{Err: e})
		return
	}
	hs, err := p.opts.OutboundLog.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		p.write(w, r, Answer{Err: logError(err)})
		return
	}
	p.writeJSON(w, r, schemas.ConsistencyProof{From: from, To: to, Hashes: nonNil(hs)})
}
