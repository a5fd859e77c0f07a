package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

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
	RouteSubjectReport    = "POST /v1/subject/report"
	RoutePublicJWKS       = "GET /.well-known/jwks.json"
	RouteHealthz          = "GET /healthz"
	RouteReadyz           = "GET /readyz"
)

// MemberHandler serves the mutual-TLS member API. The TLS layer has already
// required a client certificate registered to a member; the handler looks the
// member up again in the registry snapshot of this request.
func (p *Provider) MemberHandler(maxBody int64) *gate.Mux {
	mux := gate.NewMux(p.log, maxBody)
	mux.HandleFunc(RouteQuery, p.memberBody(schemas.KindQuery, maxBody, p.Query))
	mux.HandleFunc(RouteDiscover, p.memberBody(schemas.KindDiscovery, maxBody, p.Discover))
	mux.HandleFunc(RouteConsentStatus, p.memberBody(schemas.KindConsentStatus, maxBody, p.ConsentStatus))
	mux.HandleFunc(RouteMemberJWKS, p.serveJWKS)
	p.logRoutes(mux)
	for pattern, h := range p.opts.MemberRoutes {
		mux.Handle(pattern, p.membersOnly(h))
	}
	mux.HandleFunc(RouteHealthz, p.serveHealthz)
	mux.HandleFunc(RouteReadyz, p.serveReadyz)
	mux.Handle(schemas.RouteOpenAPI, gate.OpenAPIHandler(schemas.ListenerMember, p.log))
	return mux
}

// memberBody adapts a handler of (TLS peer, body) to the member API. Once
// the peer is known, a body that cannot be read (body_too_large,
// malformed_request) is denied and logged like any other refusal of a
// request of that kind.
func (p *Provider) memberBody(kind string, maxBody int64, h func(ctx context.Context, peerID string, body []byte) Answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		peer, e := gate.PeerOf(r, p.opts.Registries, p.opts.Clock())
		if id := gate.RefusalRequester(r, e); id != "" {
			// No valid registry to name the member: the refusal is still
			// logged, against the client's certificate.
			p.write(w, r, p.deny(r.Context(), &inquiry{kind: kind, peer: id}, e))
			return
		}
		if e != nil {
			p.write(w, r, Answer{Err: e})
			return
		}
		body, e := gate.ReadBody(w, r, maxBody)
		if e != nil {
			p.write(w, r, p.deny(r.Context(), &inquiry{kind: kind, peer: peer.ID, peerOrg: peer.Org}, e))
			return
		}
		ctx, cancel := p.answerContext(r.Context())
		defer cancel()
		p.write(w, r, h(ctx, peer.ID, body))
	}
}

// PublicHandler serves subjects over server-authenticated TLS: reading their
// own inquiry log (free) and credit report (one of the year's free reports),
// revoking consents, objections and repairs. Authentication is the subject's
// signature, checked against its registrar-issued certificate.
func (p *Provider) PublicHandler(maxBody int64) *gate.Mux {
	mux := gate.NewMux(p.log, maxBody)
	mux.HandleFunc(RouteSubjectInquiries, p.bodyHandler(schemas.KindSubjectRead, maxBody, p.SubjectInquiries))
	mux.HandleFunc(RouteSubjectReport, p.bodyHandler(schemas.KindSubjectReport, maxBody, p.SubjectReport))
	mux.HandleFunc(RouteRevoke, p.bodyHandler(schemas.KindRevocation, maxBody, p.Revoke))
	mux.HandleFunc(RouteObjection, p.bodyHandler(schemas.KindObjection, maxBody, p.Object))
	mux.HandleFunc(RouteRepair, p.bodyHandler(schemas.KindRepair, maxBody, p.ApplyRepair))
	mux.HandleFunc(RouteRightsStatus, p.bodyHandler(schemas.KindRightsStatus, maxBody, p.RightsStatus))
	mux.HandleFunc(RoutePublicJWKS, p.serveJWKS)
	p.logRoutes(mux)
	mux.HandleFunc(RouteHealthz, p.serveHealthz)
	mux.HandleFunc(RouteReadyz, p.serveReadyz)
	mux.Handle(schemas.RouteOpenAPI, gate.OpenAPIHandler(schemas.ListenerSubject, p.log))
	return mux
}

// membersOnly guards a route added through Options.MemberRoutes: the TLS
// handshake checked the client certificate against the registry in force
// then, but a keep-alive connection outlives a member's removal, so the
// certificate must still name a member of the registry in force now.
// Otherwise the request is denied (unknown_member, registry_unavailable)
// through p.write, before the route sees it; except that a gate.LoggedRoute
// (change feeds, joint modelling) gets the requests refused for want of a
// valid registry, to refuse and log them in its inquiry log as it does every
// other refusal.
func (p *Provider) membersOnly(h http.Handler) http.Handler {
	_, logs := h.(gate.LoggedRoute)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, e := gate.PeerOf(r, p.opts.Registries, p.opts.Clock()); e != nil {
			if logs && gate.RefusalRequester(r, e) != "" {
				h.ServeHTTP(w, r)
				return
			}
			p.write(w, r, Answer{Err: e})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bodyHandler adapts a subject request handler to the public API. A body
// that cannot be read is refused (body_too_large, malformed_request) and
// accounted for like any other unauthenticated refusal of that kind.
func (p *Provider) bodyHandler(kind string, maxBody int64, h func(context.Context, []byte) Answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := withSource(r.Context(), r.RemoteAddr)
		body, e := gate.ReadBody(w, r, maxBody)
		if e != nil {
			p.write(w, r, p.denyUnattributed(ctx, kind, nil, e))
			return
		}
		ctx, cancel := p.answerContext(ctx)
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

// Ready reports whether the node can answer: a valid registry, an inquiry
// log whose last append (or commit) succeeded, a reachable store and, for a
// remote signing key, a key that can sign. A failed append (a full disk)
// makes the node not ready until an append succeeds again.
func (p *Provider) Ready(ctx context.Context) error {
	if _, err := p.opts.Registries.Snapshot(p.opts.Clock()); err != nil {
		return schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid registry")
	}
	if p.inq != nil {
		if err := p.inq.Health(); err != nil {
			return schemas.Wrap(schemas.CodeLogUnavailable, err, "the inquiry log could not be written")
		}
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
