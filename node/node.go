package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
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
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/transport"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
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
	// logs (wire_witness.go); nil when the signing key is not deterministic.
	Witnessing *Witnessing

	policyLoader *policyload.Loader // nil without a configured bundle
	log          *slog.Logger
	tlsCert      tls.Certificate
	caPool       *x509.CertPool
	closers      closers           // what Open acquired, released by Close
	authority    ed25519.PublicKey // the federation authority key (trust anchor), served to the portal

	// CatalogToken is this node's signed catalogue, served at
	// catalog.RouteCatalog (wire_catalog.go).
	CatalogToken []byte

	// Wrap, if set before Serve, wraps the handler of each listener, named
	// as the OpenAPI document names them (schemas.ListenerMember, …). The
	// end-to-end tests validate every exchange against the document with
	// it; a production node leaves it nil.
	Wrap func(listener string, h http.Handler) http.Handler
}

// Option is an optional setting of Open.
type Option func(*openOptions)

type openOptions struct {
	subjectMapProgress subjectlog.Progress
}

// WithSubjectMapProgress has Open report to p how far it has got folding the
// inquiry log's leaves into the subject map: all of them at a node's first
// start, after a key rotation or when the stored map is rebuilt, which takes
// about 0.5 ms a leaf (the command line shows it with a progress bar).
func WithSubjectMapProgress(p subjectlog.Progress) Option {
	return func(o *openOptions) { o.subjectMapProgress = p }
}

// Open loads the node in dir, building its parts in the order they depend on
// each other (the steps are listed in the package doc). Whatever it acquired
// is released again if a later step fails. The caller must Close the node.
func Open(ctx context.Context, dir string, logger *slog.Logger, options ...Option) (_ *Node, err error) {
	var oo openOptions
	for _, o := range options {
		o(&oo)
	}
	if logger == nil {
		logger = slog.Default()
	}
	var cl closers
	defer func() {
		if err != nil {
			err = errors.Join(err, cl.close())
		}
	}()

	// 1. Config, logger, metrics.
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	logger = slog.New(ops.NewContextHandler(logger.Handler())).With(slog.String("node", cfg.ID)) // adds request_id
	if len(cfg.FromEnv) > 0 {
		logger.LogAttrs(ctx, slog.LevelInfo, "configuration overridden by the environment", slog.Any("variables", cfg.FromEnv))
	}
	metrics := ops.NewMetrics(cfg.ID)

	// 2. Keys: files or Vault (wire_keys.go).
	nk, err := OpenKeys(ctx, cfg)
	if err != nil {
		return nil, err
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "keys loaded", slog.String("backend", cfg.Keys.Backend), slog.Any("keys", nk))

	// 3. Trust: the authority key, the registry, TLS (wire_trust.go).
	authority, watcher, err := openRegistry(cfg, logger)
	if err != nil {
		return nil, err
	}
	tlsCert, pool, err := openTLS(cfg)
	if err != nil {
		return nil, err
	}

	// 4. Store (wire_store.go) and its metrics.
	st, err := OpenStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	cl.add(st.Close)
	metrics.WatchLogSizes(st, logger)
	metrics.WatchOverdueObjections(rights.OverdueCount{Store: st}, nil, logger)

	// 5. Policy: embedded, or a signed bundle kept current (wire_policy.go).
	pol, loader, err := openPolicy(ctx, cfg, authority, logger)
	if err != nil {
		return nil, err
	}
	// Requests decide on warm workers, not on the request's own fresh
	// goroutine, whose stack the evaluation would grow every time
	// (policy.Pool).
	decisions := policy.NewPool(pol, runtime.GOMAXPROCS(0), metrics.ObserveDecision)
	cl.add(decisions.Close)

	// 6. Tamper-evident logs (wire_logs.go).
	lg, err := openLogs(ctx, cfg, nk, st, logger)
	if err != nil {
		return nil, err
	}
	cl.add(lg.Close)

	// 7. The peer client: requests out, each in the outbound log first.
	client, err := peer.New(peer.Options{
		ID: cfg.ID, Keys: nk, Registries: ClientRegistries{W: watcher}, Log: lg.Outbound, Certificate: tlsCert, CAs: pool,
		Timeout: cfg.RequestTimeout.D(), Logger: logger,
	})
	if err != nil {
		return nil, err
	}

	// 8. Subject commitments and the witness of peers' logs, fetching
	// through the client (wire_witness.go).
	wit, err := openWitnessing(ctx, cfg, nk, st, lg, watcher, client, metrics, logger, oo.subjectMapProgress)
	if err != nil {
		return nil, err
	}

	// 9. The signed catalogue and the sharing levels (wire_catalog.go).
	levels, catalogTok, err := openCatalog(ctx, cfg, nk, pol)
	if err != nil {
		return nil, err
	}

	// 10. Member routes beyond the provider's own: catalogue, change feeds
	// (wire_feeds.go), joint modelling (wire_joint.go), witness.
	regs := Registries{W: watcher}
	feedH, err := feedHandler(cfg, nk, regs, st, lg.Inquiry, decisions, levels, logger)
	if err != nil {
		return nil, err
	}
	routes := map[string]http.Handler{catalog.RouteCatalog: catalog.Handler(catalogTok), feeds.Route: feedH}
	if err := addJointRoutes(ctx, cfg, nk, regs, lg.Inquiry, decisions, levels, st, logger, routes); err != nil {
		return nil, err
	}
	wit.addRoutes(lg, routes)

	// 11. The provider: the member and subject APIs.
	prov, err := server.New(server.Options{
		ID: cfg.ID, Jurisdiction: cfg.Jurisdiction, Keys: nk, Registries: regs, Store: st, Policy: decisions, QueryLimits: pol,
		Catalog: levels, Skew: cfg.ClockSkew.D(), Logger: logger, Observer: metrics,
		Sequencer: lg.Inquiry, Log: lg.InquiryTree, OutboundLog: lg.OutboundTree, FreeReportsPerYear: cfg.FreeReportsPerYear,
		SubjectReads: server.SubjectReadLimit{PerHour: cfg.SubjectReads.PerHour, Burst: cfg.SubjectReads.Burst},
		MemberRoutes: routes, SubjectProofs: wit.prover(), AnswerWithin: answerWithin(cfg),
	})
	if err != nil {
		return nil, err
	}
	return &Node{Config: cfg, Keys: nk, Registry: watcher, Store: st, Logs: lg, Witnessing: wit, Policy: pol, Provider: prov,
		Client: client, CatalogToken: catalogTok, Metrics: metrics,
		policyLoader: loader, log: logger, tlsCert: tlsCert, caPool: pool, closers: cl, authority: authority}, nil
}

// Close stops the logs' sequencers and closes the store: what Open acquired,
// in reverse order.
func (n *Node) Close() error { return n.closers.close() }

// closers release what Open acquired, the last first.
type closers []func() error

func (c *closers) add(f func() error) { *c = append(*c, f) }

func (c closers) close() error {
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		errs = append(errs, c[i]())
	}
	return errors.Join(errs...)
}

// Serve listens on the configured addresses until ctx ends. ready, if not
// nil, is called once both listeners are bound.
func (n *Node) Serve(ctx context.Context, ready func()) error {
	release, err := holdServeLock(n.Config.Dir) // commands beside the node see it serving (servelock.go)
	if err != nil {
		return err
	}
	defer release()
	memberTLS, err := transport.ServerConfig(transport.ServerOptions{Certificate: n.tlsCert, ClientCAs: n.caPool, Members: n.Registry})
	if err != nil {
		return err
	}
	publicTLS, err := transport.PublicServerConfig(n.tlsCert)
	if err != nil {
		return err
	}
	internalH, internalTLS, err := n.internalServing() // optional internal API for the organisation's systems (wire_internal.go)
	if err != nil {
		return err
	}
	stopOps, err := n.startOps(ctx) // optional plain-HTTP ops listener on loopback (serve_ops.go)
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
		newServer(n.wrap(schemas.ListenerMember, n.memberHandler(maxBody)), memberTLS), // + /metrics, request ids, latency (serve_ops.go)
		newServer(n.wrap(schemas.ListenerSubject, n.publicCORS(n.Provider.RateLimit(n.publicHandler(maxBody), n.Config.PublicRate.PerSecond, n.Config.PublicRate.Burst, n.Metrics.RateLimitObserver("public")))), publicTLS), // CORS for portal pages (wire_portal.go), then a per-IP limit before any log append (server/ratelimit.go), refusals counted
	}
	listeners := []net.Listener{ml, pl}
	if internalH != nil {
		il, err := net.Listen("tcp", n.Config.InternalListen)
		if err != nil {
			ml.Close()
			pl.Close()
			return err
		}
		servers = append(servers, newServer(n.wrap(schemas.ListenerInternal, internalH), internalTLS))
		listeners = append(listeners, il)
		n.log.LogAttrs(ctx, slog.LevelInfo, "internal API serving", slog.String("internal_api", il.Addr().String()))
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.ServeTLS(listeners[i], "", "") }()
	}
	go n.Registry.Run(ctx, n.Config.RegistryPoll.D())
	// Summaries of subject requests refused before authentication (gate.PreAuth).
	go n.Provider.RunRefusalSummaries(ctx)
	n.Witnessing.run(ctx) // subject map and witness loops (wire_witness.go)
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
