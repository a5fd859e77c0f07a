// Package ops is a node's operational surface: Prometheus metrics on a
// per-node registry, request ids carried into every log line of a request,
// and the latency middleware. It never sees request bodies, keys, consents
// or records: labels are route patterns, wire codes, purposes and operation
// names only.
package ops

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric label values.
const (
	DecisionAllow = "allow" // answered with records
	DecisionDeny  = "deny"  // refused with a 4xx wire code
	DecisionError = "error" // failed with a 5xx wire code

	// OtherPurpose replaces purposes that are malformed or beyond the
	// label budget, so a member cannot grow the metric without bound.
	OtherPurpose = "other"
)

// maxPurposes bounds the distinct purpose label values.
const maxPurposes = 64

var purposeLabel = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// LogSizer reports the sizes of the node's two logs; it is read at scrape
// time.
type LogSizer interface {
	InquiryLogSize(ctx context.Context) (uint64, error)
	OutboundLogSize(ctx context.Context) (uint64, error)
}

// Metrics is one node's metrics, on its own registry (never the global one,
// so several nodes in one process, as in tests, do not collide). Methods are
// safe for concurrent use; a nil *Metrics ignores every call, so components
// may take one optionally.
type Metrics struct {
	nodeID      string
	reg         *prometheus.Registry
	queries     *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	logAppends  *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	vaultErrors *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	preAuth     *prometheus.CounterVec
	decisions   prometheus.Histogram

	mu       sync.Mutex
	purposes map[string]bool
}

// NewMetrics makes the metrics of node nodeID, with the Go runtime and
// process collectors.
func NewMetrics(nodeID string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		nodeID: nodeID,
		reg:    reg,
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "creditnode", Name: "queries_total", ConstLabels: prometheus.Labels{"node": nodeID},
			Help: "Credit queries answered as provider, by decision (allow, deny, error), wire code and purpose.",
		}, []string{"decision", "code", "purpose"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "creditnode", Name: "http_request_duration_seconds", ConstLabels: prometheus.Labels{"node": nodeID},
			Help:    "HTTP request latency by listener, route pattern and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"listener", "route", "status"}),
		logAppends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "creditnode", Name: "log_appends_total", ConstLabels: prometheus.Labels{"node": nodeID},
			Help: "Leaves appended to the node's logs (inquiry, outbound).",
		}, []string{"log"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "creditnode", Name: "store_errors_total", ConstLabels: prometheus.Labels{"node": nodeID},
			Help: "Store calls that failed with the database unavailable, by operation.",
		}, []string{"op"}),
		vaultErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "creditnode", Name: "vault_errors_total", ConstLabels: prometheus.Labels{"node": nodeID},
			Help: "Vault calls that failed, by operation.",
		}, []string{"op"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "creditnode", Name: "rate_limited_total", ConstLabels: prometheus.Labels{"node": nodeID},
			Help: "Requests refused rate_limited before reaching a handler, by listener.",
		}, []string{"listener"}),
		preAuth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "creditnode", Name: "unauthenticated_refusals_total", ConstLabels: prometheus.Labels{"node": nodeID},
			Help: "Subject requests refused before any signature verified, by kind and wire code (each is in the inquiry log, alone or in its interval's summary).",
		}, []string{"kind", "code"}),
		decisions: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "creditnode", Name: "policy_decision_seconds", ConstLabels: prometheus.Labels{"node": nodeID},
			Help:    "Policy evaluation time of each decision the node's requests make, on its decision workers (policy.Pool).",
			Buckets: DecisionBuckets,
		}),
		purposes: map[string]bool{},
	}
	reg.MustRegister(m.queries, m.latency, m.logAppends, m.storeErrors, m.vaultErrors, m.rateLimited, m.preAuth, m.decisions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// DecisionBuckets are the bounds of creditnode_policy_decision_seconds: fine
// below a millisecond, where a decision should be.
var DecisionBuckets = []float64{.00005, .0001, .00015, .0002, .0003, .0005, .00075, .001, .002, .005, .01, .05, .1}

// ObserveDecision records one policy evaluation's time.
func (m *Metrics) ObserveDecision(d time.Duration) {
	if m == nil {
		return
	}
	m.decisions.Observe(d.Seconds())
}

// Registry is the node's registry, for components registering their own
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// ObserveQuery counts one query by its outcome. code is the wire code ("" or
// "ok" when allowed); status is its HTTP status.
func (m *Metrics) ObserveQuery(code string, status int, purpose string) {
	if m == nil {
		return
	}
	decision := DecisionAllow
	switch {
	case code == "" || code == "ok":
		code = "ok"
	case status >= 500:
		decision = DecisionError
	default:
		decision = DecisionDeny
	}
	m.queries.WithLabelValues(decision, code, m.purpose(purpose)).Inc()
	if code == "store_unavailable" || code == "log_unavailable" { // schemas.CodeStoreUnavailable, CodeLogUnavailable
		m.StoreError("query")
	}
}

// purpose bounds the purpose label: well-formed and among the first
// maxPurposes seen, else OtherPurpose.
func (m *Metrics) purpose(p string) string {
	if p == "" {
		return "none"
	}
	if !purposeLabel.MatchString(p) {
		return OtherPurpose
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.purposes[p] {
		return p
	}
	if len(m.purposes) >= maxPurposes {
		return OtherPurpose
	}
	m.purposes[p] = true
	return p
}

// LogAppended counts one leaf appended to log ("inquiry" or "outbound").
func (m *Metrics) LogAppended(log string) {
	if m == nil {
		return
	}
	m.logAppends.WithLabelValues(log).Inc()
}

// StoreError counts one store call that failed with the database
// unavailable.
func (m *Metrics) StoreError(op string) {
	if m == nil {
		return
	}
	m.storeErrors.WithLabelValues(op).Inc()
}

// VaultError counts one failed Vault call (sealed, unreachable, timed out,
// refused), by operation such as "sign" or "decrypt".
func (m *Metrics) VaultError(op string) {
	if m == nil {
		return
	}
	m.vaultErrors.WithLabelValues(op).Inc()
}

// RateLimited counts one request on listener ("member", "public") refused
// rate_limited. The label is the listener, never the client's address.
func (m *Metrics) RateLimited(listener string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(listener).Inc()
}

// UnauthenticatedRefused counts one request refused before authentication
// (it implements gate.RefusalCounter). Its labels are the request kind and
// the wire code, never the client's address.
func (m *Metrics) UnauthenticatedRefused(kind, code string) {
	if m == nil {
		return
	}
	m.preAuth.WithLabelValues(kind, code).Inc()
}

// RateLimitObserver returns what counts listener's rate-limited requests
// (it implements server.RateLimitObserver). The listener's series starts at
// zero, so that a rate of refusals can be computed before the first one.
func (m *Metrics) RateLimitObserver(listener string) RateLimitCounter {
	if m != nil {
		m.rateLimited.WithLabelValues(listener)
	}
	return RateLimitCounter{m: m, listener: listener}
}

// RateLimitCounter counts one listener's rate-limited requests; the zero
// value, like a nil *Metrics, counts nothing.
type RateLimitCounter struct {
	m        *Metrics
	listener string
}

// ObserveRateLimited counts one request refused rate_limited.
func (c RateLimitCounter) ObserveRateLimited() { c.m.RateLimited(c.listener) }

// ObserveRequest records one HTTP request's latency.
func (m *Metrics) ObserveRequest(listener, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.latency.WithLabelValues(listener, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// WatchLogSizes exports the two log sizes as gauges read from s at scrape
// time (bounded by a 2s timeout); a failed read is counted as a store error
// and the gauge is left out of that scrape rather than reported wrong.
func (m *Metrics) WatchLogSizes(s LogSizer, logger *slog.Logger) {
	m.reg.MustRegister(&logSizeCollector{m: m, s: s, log: logger,
		desc: prometheus.NewDesc("creditnode_log_size", "Leaves in the node's logs (inquiry, outbound).",
			[]string{"log"}, m.constLabels())})
}

func (m *Metrics) constLabels() prometheus.Labels { return prometheus.Labels{"node": m.nodeID} }

type logSizeCollector struct {
	m    *Metrics
	s    LogSizer
	log  *slog.Logger
	desc *prometheus.Desc
}

func (c *logSizeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *logSizeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, l := range []struct {
		name string
		size func(context.Context) (uint64, error)
	}{{"inquiry", c.s.InquiryLogSize}, {"outbound", c.s.OutboundLogSize}} {
		n, err := l.size(ctx)
		if err != nil {
			c.m.StoreError("log_size")
			if c.log != nil {
				c.log.LogAttrs(ctx, slog.LevelWarn, "metrics: reading log size", slog.String("log", l.name), slog.Any("err", err))
			}
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), l.name)
	}
}
