package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/schemas"
)

// HTTP routes.
const (
	RouteQuery            = "POST /v1/query"
	RouteMemberJWKS       = "GET /v1/jwks"
	RouteSubjectInquiries = "POST /v1/subject/inquiries"
	RouteRevoke           = "POST /v1/consent/revoke"
	RouteObjection        = "POST /v1/subject/objections"
	RouteRepair           = "POST /v1/subject/repairs"
	RouteRightsStatus     = "POST /v1/subject/rights"
	RoutePublicJWKS       = "GET /.well-known/jwks.json"
	RouteHealthz          = "GET /healthz"
	RouteReadyz           = "GET /readyz"
)

// MemberHandler serves the mutual-TLS member API. The TLS layer has already
// required a client certificate registered to a member; the handler looks the
// member up again in the registry snapshot of this request.
func (p *Provider) MemberHandler(maxBody int64) *gate.Mux {
	mux := gate.NewMux(p.log, maxBody)
	mux.HandleFunc(RouteQuery, func(w http.ResponseWriter, r *http.Request) {
		peer, e := p.peerOf(r)
		if e != nil {
			p.write(w, r, Answer{Err: e})
			return
		}
		body, e := readBody(r)
		if e != nil {
			p.write(w, r, Answer{Err: e})
			return
		}
		ctx, cancel := p.answerContext(r.Context())
		defer cancel()
		p.write(w, r, p.Query(ctx, peer, body))
	})
	mux.HandleFunc(RouteDiscover, p.memberBody(p.Discover))
	mux.HandleFunc(RouteMemberJWKS, p.serveJWKS)
	p.logRoutes(mux)
	for pattern, h := range p.opts.MemberRoutes {
		mux.Handle(pattern, p.membersOnly(h))
	}
	mux.HandleFunc(RouteHealthz, p.serveHealthz)
	mux.HandleFunc(RouteReadyz, p.serveReadyz)
	mux.Handle(schemas.RouteOpenAPI, OpenAPIHandler(schemas.ListenerMember, p.log))
	return mux
}

// PublicHandler serves subjects over server-authenticated TLS: reading their
// own inquiry log and revoking consents. Authentication is the subject's
// signature, checked against its registrar-issued certificate.
func (p *Provider) PublicHandler(maxBody int64) *gate.Mux {
	mux := gate.NewMux(p.log, maxBody)
	mux.HandleFunc(RouteSubjectInquiries, p.bodyHandler(p.SubjectInquiries))
	mux.HandleFunc(RouteRevoke, p.bodyHandler(p.Revoke))
	mux.HandleFunc(RouteObjection, p.bodyHandler(p.Object))
	mux.HandleFunc(RouteRepair, p.bodyHandler(p.ApplyRepair))
	mux.HandleFunc(RouteRightsStatus, p.bodyHandler(p.RightsStatus))
	mux.HandleFunc(RoutePublicJWKS, p.serveJWKS)
	p.logRoutes(mux)
	mux.HandleFunc(RouteHealthz, p.serveHealthz)
	mux.HandleFunc(RouteReadyz, p.serveReadyz)
	mux.Handle(schemas.RouteOpenAPI, OpenAPIHandler(schemas.ListenerSubject, p.log))
	return mux
}

// membersOnly guards a route added through Options.MemberRoutes: the TLS
// handshake checked the client certificate against the registry in force
// then, but a keep-alive connection outlives a member's removal, so the
// certificate must still name a member of the registry in force now.
// Otherwise the request is denied (unknown_member, registry_unavailable)
// through p.write, before the route sees it.
func (p *Provider) membersOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, e := p.peerOf(r); e != nil {
			p.write(w, r, Answer{Err: e})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (p *Provider) bodyHandler(h func(context.Context, []byte) Answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, e := readBody(r)
		if e != nil {
			p.write(w, r, Answer{Err: e})
			return
		}
		ctx, cancel := p.answerContext(r.Context())
		defer cancel()
		p.write(w, r, h(ctx, body))
	}
}

// answerContext is ctx bounded by Options.AnswerWithin: the time the
// provider gives itself to answer a request, failing closed with a code
// rather than leaving the requester to time out.
func (p *Provider) answerContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.opts.AnswerWithin <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, p.opts.AnswerWithin)
}

// peerOf names the registry member holding the TLS client certificate.
func (p *Provider) peerOf(r *http.Request) (string, *schemas.Error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", schemas.Errorf(schemas.CodeUnknownMember, "no client certificate")
	}
	reg, err := p.opts.Registries.Snapshot(p.opts.Clock())
	if err != nil {
		return "", schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	id, ok := reg.MemberByFingerprint(certs.Fingerprint(r.TLS.PeerCertificates[0].Raw))
	if !ok {
		return "", schemas.Errorf(schemas.CodeUnknownMember, "client certificate is not registered")
	}
	return id, nil
}

func readBody(r *http.Request) ([]byte, *schemas.Error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, schemas.Errorf(schemas.CodeBodyTooLarge, "body over %d bytes", mbe.Limit)
		}
		return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "could not read body")
	}
	return body, nil
}

// write turns an Answer into an HTTP response through the gate's one writer.
func (p *Provider) write(w http.ResponseWriter, r *http.Request, a Answer) {
	if a.Err == nil {
		gate.WriteBody(w, a.ContentType, a.Body)
		return
	}
	gate.WriteError(w, r, p.log, gate.Failure{Err: a.Err, RequestID: a.RequestID, LogIndex: a.LogIndex})
}

func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(p.opts.Keys.PublicJWKS())
}

func (p *Provider) serveHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", schemas.ContentTypeJSON)
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// KeyChecker is implemented by signers whose key lives in a service (Vault
// Transit): Check reports whether the key can sign now.
type KeyChecker interface {
	Check(ctx context.Context) error
}

// Ready reports whether the node can answer: a valid registry, a
// reachable store and, for a remote signing key, a key that can sign.
func (p *Provider) Ready(ctx context.Context) error {
	if _, err := p.opts.Registries.Snapshot(p.opts.Clock()); err != nil {
		return schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid registry")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := p.opts.Store.Ping(ctx); err != nil {
		return schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	if kc, ok := p.opts.Keys.Signer.(KeyChecker); ok {
		if err := kc.Check(ctx); err != nil {
			return schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable")
		}
	}
	return nil
}

func (p *Provider) serveReadyz(w http.ResponseWriter, r *http.Request) {
	if err := p.Ready(r.Context()); err != nil {
		p.write(w, r, Answer{Err: schemas.AsError(err, schemas.CodeInternal, "rejected")})
		return
	}
	w.Header().Set("Content-Type", schemas.ContentTypeJSON)
	w.Write([]byte(`{"status":"ready"}` + "\n"))
}
