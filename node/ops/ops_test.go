package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestQueriesByDecisionCodePurpose(t *testing.T) {
	m := NewMetrics("tax-dept")
	m.ObserveQuery("", 200, "loan_approval")
	m.ObserveQuery("", 200, "loan_approval")
	m.ObserveQuery("consent_missing", 403, "loan_approval")
	m.ObserveQuery("log_unavailable", 503, "credit_review")
	m.ObserveQuery("bad_signature", 401, "")
	m.ObserveQuery("purpose_not_permitted", 403, "Robert'); DROP")
	out := scrape(t, m)
	for _, want := range []string{
		`creditnode_queries_total{code="ok",decision="allow",node="tax-dept",purpose="loan_approval"} 2`,
		`creditnode_queries_total{code="consent_missing",decision="deny",node="tax-dept",purpose="loan_approval"} 1`,
		`creditnode_queries_total{code="log_unavailable",decision="error",node="tax-dept",purpose="credit_review"} 1`,
		`creditnode_queries_total{code="bad_signature",decision="deny",node="tax-dept",purpose="none"} 1`,
		`creditnode_queries_total{code="purpose_not_permitted",decision="deny",node="tax-dept",purpose="other"} 1`,
		`creditnode_store_errors_total{node="tax-dept",op="query"} 1`,
		"\ngo_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

// TestPurposeLabelBounded: a member sending ever new purposes cannot grow
// the metric beyond maxPurposes label values.
func TestPurposeLabelBounded(t *testing.T) {
	m := NewMetrics("n")
	for i := range 3 * maxPurposes {
		m.ObserveQuery("purpose_not_permitted", 403, fmt.Sprintf("p%d", i))
	}
	out := scrape(t, m)
	if n := strings.Count(out, "creditnode_queries_total{"); n != maxPurposes+1 {
		t.Fatalf("%d series, want %d", n, maxPurposes+1)
	}
	if !strings.Contains(out, fmt.Sprintf(`purpose="other"} %d`, 2*maxPurposes)) {
		t.Fatal("overflow not counted as other")
	}
}

func TestNilMetricsIgnoresCalls(t *testing.T) {
	var m *Metrics
	m.ObserveQuery("", 200, "x")
	m.VaultError("sign")
	m.StoreError("x")
	m.LogAppended("inquiry")
	m.ObserveRequest("member", "x", 200, 0)
	m.RateLimited("public")
	m.RateLimitObserver("public").ObserveRateLimited()
	RateLimitCounter{}.ObserveRateLimited()
}

// TestRateLimitedByListener: refusals are counted per listener, and a
// listener's series is exported at zero once its observer exists.
func TestRateLimitedByListener(t *testing.T) {
	m := NewMetrics("tax-dept")
	pub, member := m.RateLimitObserver("public"), m.RateLimitObserver("member")
	if out := scrape(t, m); !strings.Contains(out, `creditnode_rate_limited_total{listener="member",node="tax-dept"} 0`) {
		t.Fatalf("no zero series before the first refusal:\n%s", out)
	}
	pub.ObserveRateLimited()
	pub.ObserveRateLimited()
	member.ObserveRateLimited()
	m.RateLimited("public")
	out := scrape(t, m)
	for _, want := range []string{
		`creditnode_rate_limited_total{listener="public",node="tax-dept"} 3`,
		`creditnode_rate_limited_total{listener="member",node="tax-dept"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	if n := strings.Count(out, "creditnode_rate_limited_total{"); n != 2 {
		t.Errorf("%d rate_limited series, want 2", n)
	}
}

func TestVaultAndStoreErrors(t *testing.T) {
	m := NewMetrics("bank-a")
	m.VaultError("sign")
	m.VaultError("sign")
	m.VaultError("decrypt")
	m.StoreError("commit")
	m.LogAppended("inquiry")
	out := scrape(t, m)
	for _, want := range []string{
		`creditnode_vault_errors_total{node="bank-a",op="sign"} 2`,
		`creditnode_vault_errors_total{node="bank-a",op="decrypt"} 1`,
		`creditnode_store_errors_total{node="bank-a",op="commit"} 1`,
		`creditnode_log_appends_total{log="inquiry",node="bank-a"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

type sizes struct {
	inq, out uint64
	err      error
}

func (s *sizes) InquiryLogSize(context.Context) (uint64, error)  { return s.inq, s.err }
func (s *sizes) OutboundLogSize(context.Context) (uint64, error) { return s.out, s.err }

func TestLogSizesReadAtScrape(t *testing.T) {
	m := NewMetrics("n")
	s := &sizes{inq: 7, out: 3}
	m.WatchLogSizes(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	out := scrape(t, m)
	if !strings.Contains(out, `creditnode_log_size{log="inquiry",node="n"} 7`) || !strings.Contains(out, `creditnode_log_size{log="outbound",node="n"} 3`) {
		t.Fatalf("log sizes missing:\n%s", out)
	}
	s.inq = 9
	if out := scrape(t, m); !strings.Contains(out, `creditnode_log_size{log="inquiry",node="n"} 9`) {
		t.Fatal("size not re-read at scrape")
	}
	s.err = errors.New("store: database unavailable")
	out = scrape(t, m)
	if strings.Contains(out, "creditnode_log_size{") {
		t.Fatal("a failed read still reported a size")
	}
	var pb dto.Metric
	if err := m.storeErrors.WithLabelValues("log_size").Write(&pb); err != nil {
		t.Fatal(err)
	}
	if n := pb.GetCounter().GetValue(); n != 2 {
		t.Fatalf("%v failed reads counted, want 2", n)
	}
}

// TestInstrumentRequestID: each request gets its own id, in the response
// header and in every log line written with the request's context; latency
// is labelled by route pattern, not raw path.
func TestInstrumentRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(NewContextHandler(slog.NewJSONHandler(&buf, nil))).With(slog.String("node", "n"))
	m := NewMetrics("n")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		logger.LogAttrs(r.Context(), slog.LevelInfo, "handled")
		w.WriteHeader(http.StatusTeapot)
	})
	h := m.Instrument("member", mux)
	var ids []string
	for _, path := range []string{"/v1/items/1", "/v1/items/2"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set(HeaderRequestID, "client-chosen")
		h.ServeHTTP(rec, req)
		id := rec.Header().Get(HeaderRequestID)
		if len(id) != 32 || id == "client-chosen" {
			t.Fatalf("request id %q", id)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Fatal("two requests share an id")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines", len(lines))
	}
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if rec[LogKeyRequestID] != ids[i] || rec["node"] != "n" {
			t.Errorf("log line %d: %s", i, l)
		}
	}
	out := scrape(t, m)
	if !strings.Contains(out, `creditnode_http_request_duration_seconds_count{listener="member",node="n",route="GET /v1/items/{id}",status="418"} 2`) {
		t.Fatalf("latency histogram missing:\n%s", out)
	}
}
