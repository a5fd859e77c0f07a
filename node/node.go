// Package node wires a credit exchange node together from its directory:
// logger → config → keys → registry → store → policy → provider and client →
// listeners. Serve runs the mutual-TLS member API and the public subject API
// until the context ends, then drains in-flight requests.
package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/ops"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/policyload"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/transport"
	"github.com/creditexchange/node/policy"
)

// Node is a running node's parts.
type Node struct {
	Config   *config.Config
	Keys     *keys.NodeKeys
	Registry *registry.Watcher
	Store    Store          // *store.SQLite or *store.Postgres, as configured
	Policy   *policy.Holder // the policy in force; swapped on bundle reload
	Provider *server.Provider
	Client   *peer.Client
	Metrics  *ops.Metrics // this node's Prometheus registry; Vault errors are counted here too
	Logs     *Logs        // tamper-evident inquiry and outbound logs (both backends)
	// Witnessing is the per-subject commitment and the witness of peers'
	// logs (witness_wiring.go); nil without tamper-evident logs.
	Witnessing *Witnessing

	policyLoader *policyload.Loader // nil without a configured bundle
	log          *slog.Logger
	tlsCert      tls.Certificate
	caPool       *x509.CertPool
	authority    ed25519.PublicKey // the federation authority key (trust anchor), served to the portal

	// CatalogToken is this node's signed catalogue, served at
	// catalog.RouteCatalog (catalog_wiring.go).
	CatalogToken []byte
}

// Open loads the node in dir. The caller must Close it.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	logger = slog.New(ops.NewContextHandler(logger.Handler())).With(slog.String("node", cfg.ID)) // adds request_id
	metrics := ops.NewMetrics(cfg.ID)
	nk, err := OpenKeys(ctx, cfg) // keys.backend: file or vault (keys.go)
	if err != nil {
		return nil, err
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "keys loaded", slog.String("backend", cfg.Keys.Backend), slog.Any("keys", nk))

	authority, err := registry.LoadAuthorityPublic(cfg.Path(cfg.AuthorityKey))
	if err != nil {
		return nil, fmt.Errorf("node: trust anchor: %w", err)
	}
	watcher := registry.NewWatcher(cfg.Path(cfg.Registry), authority, time.Now, logger)
	if err := watcher.Load(); err != nil {
		return nil, fmt.Errorf("node: registry: %w", err)
	}

	tlsCert, err := tls.LoadX509KeyPair(cfg.Path(cfg.TLS.Cert), cfg.Path(cfg.TLS.Key))
	if err != nil {
		return nil, fmt.Errorf("node: TLS certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.Path(cfg.TLS.CA))
	if err != nil {
		return nil, fmt.Errorf("node: TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("node: TLS CA file holds no certificate")
	}

	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	metrics.WatchLogSizes(st, logger)
	if oc, ok := st.(rights.OpenObjectionCounter); ok {
		metrics.WatchOverdueObjections(rights.OverdueCount{Store: oc}, nil, logger)
	}
	eng, loader, err := openPolicy(ctx, cfg, authority, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	lg, err := openLogs(ctx, cfg, nk, st, logger) // tamper-evident logs (logs.go)
	if err != nil {
		st.Close()
		return nil, err
	}
	wit, err := openWitnessing(ctx, cfg, nk, st, lg, watcher, metrics, logger) // subject commitments, witness (witness_wiring.go)
	if err != nil {
		lg.Close()
		st.Close()
		return nil, err
	}
	levels, catalogTok, err := openCatalog(ctx, cfg, nk, eng) // signed catalogue (catalog_wiring.go)
	if err != nil {
		lg.Close()
		st.Close()
		return nil, err
	}
	regs := Registries{W: watcher}
	feedH, err := feedHandler(cfg, nk, regs, st, lg.sequencer(), eng, levels, logger) // change feeds (feeds_wiring.go)
	if err != nil {
		lg.Close()
		st.Close()
		return nil, err
	}
	memberRoutes, err := withJointRoutes(ctx, cfg, nk, regs, lg.sequencer(), eng, levels, st, logger, // joint modelling jobs (joint_wiring.go)
		map[string]http.Handler{catalog.RouteCatalog: catalog.Handler(catalogTok), feeds.Route: feedH})
	if err != nil {
		lg.Close()
		st.Close()
		return nil, err
	}
	prov, err := server.New(server.Options{
		ID: cfg.ID, Jurisdiction: cfg.Jurisdiction, Keys: nk, Registries: regs, Store: st, Policy: eng,
		Catalog: levels, Skew: cfg.ClockSkew.D(), Logger: logger, Observer: metrics,
		Sequencer: lg.sequencer(), Log: lg.proofs(), OutboundLog: lg.outboundProofs(), FreeReportsPerYear: cfg.FreeReportsPerYear,
		MemberRoutes:  wit.withRoutes(lg, memberRoutes),
		SubjectProofs: wit.prover(),
	})
	if err != nil {
		lg.Close()
		st.Close()
		return nil, err
	}
	cl, err := peer.New(peer.Options{
		ID: cfg.ID, Keys: nk, Registries: ClientRegistries{W: watcher}, Log: lg.outbound(st), Certificate: tlsCert, CAs: pool,
		Timeout: cfg.RequestTimeout.D(), Logger: logger,
	})
	if err != nil {
		lg.Close()
		st.Close()
		return nil, err
	}
	wit.setClient(cl)
	return &Node{Config: cfg, Keys: nk, Registry: watcher, Store: st, Logs: lg, Witnessing: wit, Policy: eng, Provider: prov, Client: cl, CatalogToken: catalogTok,
		Metrics: metrics, policyLoader: loader, log: logger, tlsCert: tlsCert, caPool: pool, authority: authority}, nil
}

// Close releases the store.
func (n *Node) Close() error { return errors.Join(n.Logs.Close(), n.Store.Close()) }

// Serve listens on the configured addresses until ctx ends. ready, if not
// nil, is called once both listeners are bound.
func (n *Node) Serve(ctx context.Context, ready func()) error {
	memberTLS, err := transport.ServerConfig(transport.ServerOptions{Certificate: n.tlsCert, ClientCAs: n.caPool, Members: n.Registry})
	if err != nil {
		return err
	}
	publicTLS, err := transport.PublicServerConfig(n.tlsCert)
	if err != nil {
		return err
	}
	stopOps, err := n.startOps(ctx) // optional plain-HTTP ops listener on loopback (opsrv.go)
	if err != nil {
		return err
	}
	defer stopOps()
	ml, err := net.Listen("tcp", n.Config.Listen)
	if err != nil {
		return err
	}
	pl, err := net.Listen("tcp", n.Config.PublicListen)
	if err != nil {
		ml.Close()
		return err
	}
	errLog := slog.NewLogLogger(n.log.Handler(), slog.LevelDebug)
	newServer := func(h http.Handler, cfg *tls.Config) *http.Server {
		return &http.Server{
			Handler: h, TLSConfig: cfg, ErrorLog: errLog,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 120 * time.Second, MaxHeaderBytes: 16 << 10,
		}
	}
	maxBody := n.Config.MaxBodyBytes
	servers := []*http.Server{
		newServer(n.memberHandler(maxBody), memberTLS), // + /metrics, request ids, latency (opsrv.go)
		newServer(n.publicCORS(n.Provider.RateLimit(n.publicHandler(maxBody), n.Config.PublicRate.PerSecond, n.Config.PublicRate.Burst, n.Metrics.RateLimitObserver("public"))), publicTLS), // CORS for portal pages (portal_wiring.go), then a per-IP limit before any log append (server/ratelimit.go), refusals counted
	}
	listeners := []net.Listener{ml, pl}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.ServeTLS(listeners[i], "", "") }()
	}
	go n.Registry.Run(ctx, n.Config.RegistryPoll.D())
	n.Witnessing.run(ctx) // subject map and witness loops (witness_wiring.go)
	if n.policyLoader != nil {
		go n.policyLoader.Run(ctx)
	}
	n.log.LogAttrs(ctx, slog.LevelInfo, "node serving",
		slog.String("member_api", ml.Addr().String()), slog.String("public_api", pl.Addr().String()))
	if ready != nil {
		ready()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			n.log.LogAttrs(context.Background(), slog.LevelError, "listener failed", slog.Any("err", err))
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(shutdownCtx) // drains in-flight requests; each has logged before answering
	}
	n.log.LogAttrs(context.Background(), slog.LevelInfo, "node stopped")
	return nil
}

// Registries adapts the registry watcher to the provider's view.
type Registries struct{ W *registry.Watcher }

// Snapshot returns the registry in force, or an error once it has expired.
func (r Registries) Snapshot(now time.Time) (server.RegistryView, error) {
	if err := r.W.Valid(now); err != nil {
		return nil, err
	}
	return r.W.Current(), nil
}

// ClientRegistries adapts the registry watcher to the client's view.
type ClientRegistries struct{ W *registry.Watcher }

// Snapshot returns the registry in force.
func (r ClientRegistries) Snapshot(now time.Time) (peer.Registry, error) {
	if err := r.W.Valid(now); err != nil {
		return nil, err
	}
	return r.W.Current(), nil
}
