package node

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/schemas"
)

// routeMetrics serves the node's metrics on the member listener, so a
// federation's monitoring authenticates with a member certificate like
// any peer, and on the ops listener.
const routeMetrics = "GET /metrics"

// memberMux is the mutual-TLS member API with /metrics.
func (n *Node) memberMux(maxBody int64) *gate.Mux {
	member := n.Provider.MemberHandler(maxBody)
	member.Handle(routeMetrics, n.Metrics.Handler())
	return member
}

// memberHandler is the member API, instrumented (request ids, latency).
func (n *Node) memberHandler(maxBody int64) http.Handler {
	member := n.memberMux(maxBody)
	return n.Metrics.Instrument("member", routed(member, member.Patterns()...))
}

// publicHandler is the subject API, instrumented.
func (n *Node) publicHandler(maxBody int64) http.Handler {
	public := n.publicMux(maxBody)
	return n.Metrics.Instrument("public", routed(public, public.Patterns()...))
}

// publicMux is the subject API with, when portal.enabled is set, the
// subject portal's pages (wire_portal.go).
func (n *Node) publicMux(maxBody int64) *gate.Mux {
	public := n.Provider.PublicHandler(maxBody)
	if n.Config.Portal.Enabled {
		p := n.portal()
		for _, pattern := range p.Patterns() {
			public.Handle(pattern, p)
		}
	}
	return public
}

// opsMux is the plain-HTTP ops listener: /metrics, the provider's own
// /healthz and /readyz (reached through its public handler: they take no
// body and no authentication), and the listener's OpenAPI document.
func (n *Node) opsMux(maxBody int64) *gate.Mux {
	health := n.Provider.PublicHandler(maxBody)
	mux := gate.NewMux(n.log, maxBody)
	mux.Handle(routeMetrics, n.Metrics.Handler())
	mux.Handle(server.RouteHealthz, health)
	mux.Handle(server.RouteReadyz, health)
	mux.Handle(schemas.RouteOpenAPI, gate.OpenAPIHandler(schemas.ListenerOps, n.log))
	return mux
}

// routed mounts h at each of its routes and at "/", so that the latency
// metric is labelled by the route pattern (the provider's own mux sets its
// pattern on a copy of the request, out of the middleware's sight).
func routed(h http.Handler, routes ...string) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r, h)
	}
	mux.Handle("/", h)
	return mux
}

// wrap applies n.Wrap, if set, to a listener's handler.
func (n *Node) wrap(listener string, h http.Handler) http.Handler {
	if n.Wrap == nil {
		return h
	}
	return n.Wrap(listener, h)
}

// startOps starts the plain-HTTP ops listener if ops_listen is configured
// (config validation holds it to loopback). The returned stop drains it.
func (n *Node) startOps(ctx context.Context) (stop func(), err error) {
	if n.Config.OpsListen == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", n.Config.OpsListen)
	if err != nil {
		return nil, err
	}
	ops := n.opsMux(n.Config.MaxBodyBytes)
	srv := &http.Server{
		Handler:           n.wrap(schemas.ListenerOps, n.Metrics.Instrument("ops", routed(ops, ops.Patterns()...))),
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 8 << 10,
	}
	go srv.Serve(l)
	n.log.LogAttrs(ctx, slog.LevelInfo, "ops listener serving", slog.String("ops_api", l.Addr().String()))
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}, nil
}
