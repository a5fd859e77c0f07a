package node

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// routeMetrics serves the node's metrics on the member listener, so a
// federation's monitoring authenticates with a member certificate like
// any peer.
const routeMetrics = "GET /metrics"

// memberHandler is the mutual-TLS member API with /metrics, instrumented
// (request ids, latency).
func (n *Node) memberHandler(maxBody int64) http.Handler {
	member := n.Provider.MemberHandler(maxBody)
	mux := routed(member, member.Patterns()...)
	mux.Handle(routeMetrics, n.Metrics.Handler())
	return n.Metrics.Instrument("member", mux)
}

// publicHandler is the subject API, instrumented.
func (n *Node) publicHandler(maxBody int64) http.Handler {
	public := n.Provider.PublicHandler(maxBody)
	if n.Config.Portal.Enabled {
		p := n.portal()
		for _, pattern := range p.Patterns() {
			public.Handle(pattern, p)
		}
	}
	return n.Metrics.Instrument("public", routed(public, public.Patterns()...))
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
	// /healthz and /readyz are the provider's own, reached through its
	// public handler (they take no body and no authentication).
	health := n.Provider.PublicHandler(n.Config.MaxBodyBytes)
	srv := &http.Server{
		Handler:           n.Metrics.OpsHandler(health, health),
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
