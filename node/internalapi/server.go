package internalapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// Headers of every internal call.
const (
	HeaderStaffID        = "X-Staff-Id"      // the staff member the call is made for
	HeaderBusinessRef    = "X-Business-Ref"  // the business reference, e.g. the loan application number
	HeaderIdempotencyKey = "Idempotency-Key" // on every POST that spends a consent use
	maxHeaderValue       = 128
)

// Domain-separation labels of the keyed digests.
const (
	refDigestLabel   = "creditexchange/internal/business-ref/v1"
	staffDigestLabel = "creditexchange/internal/staff-id/v1"
)

// Peer is what the internal API needs of the node's requester client
// (*peer.Client).
type Peer interface {
	Query(ctx context.Context, q peer.Query) (*peer.Result, error)
	Discover(ctx context.Context, provider, purpose, subjectType string) (*schemas.DiscoveryAnswer, error)
	ConsentStatus(ctx context.Context, provider, subject, tok string, caller *peer.Caller) (*schemas.ConsentStatusAnswer, error)
	Get(ctx context.Context, member, path string) ([]byte, error)
}

var _ Peer = (*peer.Client)(nil)

// OutboundReader reads this node's outbound log for the audit search.
type OutboundReader interface {
	OutboundLogSize(ctx context.Context) (uint64, error)
	SearchOutbound(ctx context.Context, f store.OutboundSearch) ([]store.StoredLeaf, error)
}

// Options configures a Server. Every field is required unless noted.
type Options struct {
	ID       string // this node's member id
	NodeDir  string // the node directory: client registry, operator CA, idempotency records
	Keys     *keys.NodeKeys
	Peer     Peer
	Registry func(now time.Time) (*registry.Registry, error) // the registry in force
	Outbound OutboundReader
	// Records, if set, takes records imports (the node's store).
	Records records.Importer
	// Feeds, if set, pulls providers' change feeds (the node's subscriber).
	Feeds FeedPuller
	// Grading, if set, grades subjects (the node's store and policy).
	Grading *Grading
	// Joint, if set, runs this node's joint modelling jobs as the guest
	// and asks their hosts (the node's joint client); models are kept under
	// NodeDir/joint/models.
	Joint   JointGuest
	Skew    time.Duration
	MaxBody int64
	Logger  *slog.Logger
	Clock   func() time.Time // defaults to time.Now
}

// Server is the internal API.
type Server struct {
	opts      Options
	operator  *Operator
	idem      *Idempotency
	refKey    []byte
	mux       *gate.Mux
	log       *slog.Logger
	negative  func(string) bool
	validator *schemas.CategoryValidator
	jobs      *jobs
}

// New makes the internal API of a node.
func New(o Options) (*Server, error) {
	if o.ID == "" || o.NodeDir == "" || o.Keys == nil || o.Peer == nil || o.Registry == nil || o.Outbound == nil {
		return nil, errors.New("internalapi: ID, NodeDir, Keys, Peer, Registry and Outbound are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	op := NewOperator(o.NodeDir)
	key, err := op.RefKey()
	if err != nil {
		return nil, err
	}
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		return nil, err
	}
	log := o.Logger.With(slog.String("api", "internal"))
	js, err := openJobs(filepath.Join(o.NodeDir, Dir, jobsDir), log, o.Clock())
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, operator: op, idem: NewIdempotency(o.NodeDir, o.Clock), refKey: key,
		log: log, negative: cv.Negative, validator: cv, jobs: js}
	// The mux admits the largest body of any route (a records import);
	// each route reads at most its own limit.
	s.mux = gate.NewMux(s.log, max(o.MaxBody, records.MaxFileBytes))
	s.routes()
	return s, nil
}

// Handler is the internal API's routes.
func (s *Server) Handler() *gate.Mux { return s.mux }

// TLSConfig is the internal listener's TLS configuration, with its server
// certificate from the operator CA (issued on first use for listen). A
// client must present a certificate; whether it is a registered client is
// decided per request against the client registry in force (so a
// revocation counts on a kept-alive connection too), and a federation
// member's certificate is never registered.
func (s *Server) TLSConfig(listen string) (*tls.Config, error) {
	cert, err := s.operator.ServerCertificate(listen)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// RefDigest is the opaque digest of a business reference sent to providers
// (claim "ref"): HMAC-SHA256 under the node's reference key, so a provider
// cannot confirm a guessed reference.
func (s *Server) RefDigest(ref string) string { return RefDigest(s.refKey, ref) }

// RefDigest is the digest of a business reference under the node's
// reference key (Operator.RefKey).
func RefDigest(key []byte, ref string) string { return keyed(key, refDigestLabel, ref) }

func (s *Server) keyed(label, v string) string { return keyed(s.refKey, label, v) }

func keyed(key []byte, label, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// call is one authenticated internal request.
type call struct {
	client      Client
	op          string
	staffID     string
	businessRef string
	body        []byte
}

func (c *call) caller(s *Server) *peer.Caller {
	return &peer.Caller{Client: c.client.Name, StaffID: c.staffID, BusinessRef: c.businessRef, RefDigest: s.RefDigest(c.businessRef)}
}

// rawAnswer is an answer that is not JSON (a model's HTML report).
type rawAnswer struct {
	contentType string
	body        []byte
}

// route describes one operation's handling.
type route[T any] struct {
	op string
	// alsoOps are other operations that admit the route (the job status
	// route serves the jobs of every operation that starts one).
	alsoOps  []string
	needsRef bool // the call concerns a subject: X-Business-Ref required
	spends   bool // it may spend a consent use or change state: Idempotency-Key required
	// maxBody, if set, is the route's body limit (default Options.MaxBody).
	maxBody int64
	// parse reads the request (body, or URL for a GET) strictly.
	parse func(r *http.Request, body []byte) (*T, *schemas.Error)
	// scope names the purpose (empty: none) and providers the request
	// touches, checked against the client's allow-list.
	scope func(*T) (string, []string)
	run   func(ctx context.Context, c *call, req *T) (any, *schemas.Error)
}

// handle runs the checks of the package documentation in order, then the
// route, and writes and logs the answer.
func handle[T any](s *Server, rt route[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{op: rt.op}
		code := schemas.Code("")
		defer func() {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "internal call", slog.String("operation", rt.op),
				slog.String("client", c.client.Name), slog.String("staff", s.staffDigest(c.staffID)),
				slog.String("code", string(code)))
		}()
		fail := func(e *schemas.Error) {
			code = e.Code
			gate.WriteError(w, r, s.log, gate.Failure{Err: e})
		}
		cl, e := s.authenticate(r)
		if e != nil {
			fail(e)
			return
		}
		c.client = cl
		if !cl.Allows(rt.op) && !slices.ContainsFunc(rt.alsoOps, cl.Allows) {
			fail(schemas.Errorf(schemas.CodeClientNotPermitted, "operation %s is not on this client's allow-list", rt.op))
			return
		}
		if c.staffID, e = headerValue(r, HeaderStaffID, true, schemas.CodeStaffIDMissing); e != nil {
			fail(e)
			return
		}
		if c.businessRef, e = headerValue(r, HeaderBusinessRef, rt.needsRef, schemas.CodeBusinessRefMissing); e != nil {
			fail(e)
			return
		}
		key := r.Header.Get(HeaderIdempotencyKey)
		if rt.spends && key == "" {
			fail(schemas.Errorf(schemas.CodeIdempotencyKeyMissing, "this operation needs an %s header", HeaderIdempotencyKey))
			return
		}
		if len(key) > maxIdempotencyKey || !printable(key) {
			fail(schemas.Errorf(schemas.CodeMalformedRequest, "%s must be at most %d printable characters", HeaderIdempotencyKey, maxIdempotencyKey))
			return
		}
		if r.Method == http.MethodPost {
			limit := s.opts.MaxBody
			if rt.maxBody > 0 {
				limit = rt.maxBody
			}
			if c.body, e = gate.ReadBody(w, r, limit); e != nil {
				fail(e)
				return
			}
		}
		req, e := rt.parse(r, c.body)
		if e != nil {
			fail(e)
			return
		}
		purpose, providers := rt.scope(req)
		if purpose != "" && !cl.AllowsPurpose(purpose) {
			fail(schemas.Errorf(schemas.CodeClientNotPermitted, "purpose %s is not on this client's allow-list", purpose))
			return
		}
		for _, p := range providers {
			if !cl.AllowsProvider(p) {
				fail(schemas.Errorf(schemas.CodeClientNotPermitted, "provider %s is not on this client's allow-list", p))
				return
			}
		}
		if key != "" && rt.spends {
			unlock := s.idem.Lock(cl.Name, key)
			defer unlock()
			prev, err := s.idem.Get(cl.Name, key)
			if err != nil {
				fail(schemas.Wrap(schemas.CodeStoreUnavailable, err, "idempotency records unavailable"))
				return
			}
			if prev != nil {
				if prev.Operation != rt.op || prev.BodyDigest != bodyDigest(c.body) {
					fail(schemas.Errorf(schemas.CodeIdempotencyConflict, "%s was used before with another request", HeaderIdempotencyKey))
					return
				}
				code = "replayed"
				w.Header().Set("Idempotent-Replayed", "true")
				w.Header().Set("Content-Type", prev.ContentType)
				w.WriteHeader(prev.Status)
				w.Write(prev.Body)
				return
			}
		}
		ans, e := rt.run(r.Context(), c, req)
		status, ctype, body := http.StatusOK, schemas.ContentTypeJSON, []byte(nil)
		if e != nil {
			code = e.Code
			status, ctype = e.Code.Status(), schemas.ContentTypeError
			body = errorBody(e)
		} else if raw, ok := ans.(rawAnswer); ok {
			ctype, body = raw.contentType, raw.body
		} else if body, e = marshalLine(ans); e != nil {
			fail(e)
			return
		}
		if key != "" && rt.spends && status < 500 {
			// An answer the client could act on is kept; a failure of this
			// node or a peer is not, so a retry runs again.
			if err := s.idem.Put(cl.Name, key, stored{Operation: rt.op, BodyDigest: bodyDigest(c.body), Status: status, ContentType: ctype, Body: body}); err != nil {
				s.log.LogAttrs(r.Context(), slog.LevelError, "idempotency record not kept", slog.String("client", cl.Name), slog.Any("err", err))
			}
		}
		if e != nil {
			gate.WriteError(w, r, s.log, gate.Failure{Err: e})
			return
		}
		gate.WriteBody(w, ctype, body)
	}
}

// authenticate names the registered, unrevoked client holding r's TLS
// client certificate.
func (s *Server) authenticate(r *http.Request) (Client, *schemas.Error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return Client{}, schemas.Errorf(schemas.CodeClientUnknown, "no client certificate")
	}
	leaf := r.TLS.PeerCertificates[0]
	c, ok, err := s.operator.Clients.ByFingerprint(fingerprintOf(leaf))
	if err != nil {
		return Client{}, schemas.Wrap(schemas.CodeStoreUnavailable, err, "client registry unavailable")
	}
	if !ok {
		return Client{}, schemas.Errorf(schemas.CodeClientUnknown, "client certificate is not registered")
	}
	if c.Revoked != nil {
		return Client{}, schemas.Errorf(schemas.CodeClientRevoked, "client %s was revoked", c.Name)
	}
	if now := s.opts.Clock(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return Client{}, schemas.Errorf(schemas.CodeClientUnknown, "client certificate outside its validity")
	}
	return c, nil
}

// headerValue reads a caller header: at most maxHeaderValue printable
// characters; missing is code when required.
func headerValue(r *http.Request, name string, required bool, code schemas.Code) (string, *schemas.Error) {
	v := strings.TrimSpace(r.Header.Get(name))
	if v == "" {
		if required {
			return "", schemas.Errorf(code, "header %s is required", name)
		}
		return "", nil
	}
	if len(v) > maxHeaderValue || !printable(v) {
		return "", schemas.Errorf(schemas.CodeMalformedRequest, "header %s must be at most %d printable characters", name, maxHeaderValue)
	}
	return v, nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// staffDigest names a staff member in the node's own logs without naming
// them in clear.
func (s *Server) staffDigest(id string) string {
	if id == "" {
		return ""
	}
	return s.keyed(staffDigestLabel, id)[:16]
}

func (s *Server) routes() {
	s.mux.Handle(RouteQuery, handle(s, s.queryRoute()))
	s.mux.Handle(RouteConsentCheck, handle(s, s.consentRoute()))
	s.mux.Handle(RouteReportBuild, handle(s, s.reportBuildRoute()))
	s.mux.Handle(RouteReportVerify, handle(s, s.reportVerifyRoute()))
	s.mux.Handle(RouteDiscover, handle(s, s.discoverRoute()))
	s.mux.Handle(RouteCatalog, handle(s, s.catalogRoute()))
	s.mux.Handle(RouteAudit, handle(s, s.auditRoute()))
	s.mux.Handle(RouteListsCheck, handle(s, s.listsRoute()))
	s.mux.Handle(RouteRecordsImport, handle(s, s.recordsImportRoute()))
	s.mux.Handle(RouteFeedPull, handle(s, s.feedPullRoute()))
	s.mux.Handle(RouteGrade, handle(s, s.gradeRoute()))
	s.mux.Handle(RouteJointStatus, handle(s, s.jointHostsRoute(false)))
	s.mux.Handle(RouteJointCancel, handle(s, s.jointHostsRoute(true)))
	s.mux.Handle(RouteJointJobs, handle(s, s.jointJobsRoute()))
	s.mux.Handle(RouteJointModel, handle(s, s.jointModelRoute(false)))
	s.mux.Handle(RouteJointReport, handle(s, s.jointModelRoute(true)))
	s.mux.Handle(RouteJointScore, handle(s, s.jointScoreRoute()))
	s.mux.Handle(RouteJob, handle(s, s.jobRoute()))
	s.mux.Handle(schemas.RouteOpenAPI, gate.OpenAPIHandler(schemas.ListenerInternal, s.log))
}

// Routes of the internal API.
const (
	RouteQuery         = "POST /internal/v1/query"
	RouteConsentCheck  = "POST /internal/v1/consent/check"
	RouteReportBuild   = "POST /internal/v1/reports"
	RouteReportVerify  = "POST /internal/v1/reports/verify"
	RouteDiscover      = "POST /internal/v1/discover"
	RouteCatalog       = "GET /internal/v1/catalog"
	RouteAudit         = "GET /internal/v1/audit/outbound"
	RouteListsCheck    = "POST /internal/v1/lists/check"
	RouteRecordsImport = "POST /internal/v1/records/import"
	RouteFeedPull      = "POST /internal/v1/feeds/pull"
	RouteGrade         = "POST /internal/v1/grade"
	RouteJointStatus   = "POST /internal/v1/joint/status"
	RouteJointCancel   = "POST /internal/v1/joint/cancel"
	RouteJointJobs     = "POST /internal/v1/joint/jobs"
	RouteJointModel    = "GET /internal/v1/joint/models/{job}"
	RouteJointReport   = "GET /internal/v1/joint/models/{job}/report"
	RouteJointScore    = "POST /internal/v1/joint/score"
	RouteJob           = "GET /internal/v1/jobs/{id}"
)

var _ catalog.Getter = Peer(nil)
