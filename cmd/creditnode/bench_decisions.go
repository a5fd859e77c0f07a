package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/creditexchange/node/node/config"
)

// The policy decision as it runs inside the provider: bench gives the
// provider an ops listener and reads its creditnode_policy_decision_seconds
// histogram (evaluation time on the decision workers) before and after each
// run.

const decisionMetric = "creditnode_policy_decision_seconds"

// enableOps gives the node in dir an ops listener on a free loopback port
// and returns the URL of its /metrics.
func enableOps(dir string) (string, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	cfg.OpsListen = l.Addr().String()
	l.Close()
	cfg.Dir = ""
	if err := cfg.Save(dir); err != nil {
		return "", err
	}
	return "http://" + cfg.OpsListen + "/metrics", nil
}

// histogram is a cumulative histogram: counts[i] decisions took at most
// bounds[i] seconds.
type histogram struct {
	bounds []float64
	counts []uint64
	total  uint64
}

// readDecisions reads the provider's decision histogram from url.
func readDecisions(ctx context.Context, url string) (*histogram, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: %s answered %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	fam, ok := fams[decisionMetric]
	if !ok || len(fam.GetMetric()) != 1 || fam.GetMetric()[0].GetHistogram() == nil {
		return nil, fmt.Errorf("bench: %s has no %s histogram", url, decisionMetric)
	}
	h := fam.GetMetric()[0].GetHistogram()
	out := &histogram{total: h.GetSampleCount()}
	for _, b := range h.GetBucket() {
		out.bounds = append(out.bounds, b.GetUpperBound())
		out.counts = append(out.counts, b.GetCumulativeCount())
	}
	return out, nil
}

// since is the histogram of the decisions between earlier and h.
func (h *histogram) since(earlier *histogram) *histogram {
	out := &histogram{bounds: h.bounds, total: h.total - earlier.total}
	for i := range h.counts {
		out.counts = append(out.counts, h.counts[i]-earlier.counts[i])
	}
	return out
}

// quantile is the upper bound of the first bucket holding the q-quantile,
// or +Inf past the last bound.
func (h *histogram) quantile(q float64) string {
	rank := uint64(q * float64(h.total))
	if rank == 0 {
		rank = 1
	}
	for i, c := range h.counts {
		if c >= rank {
			return fmt.Sprintf("≤ %s", time.Duration(h.bounds[i]*float64(time.Second)))
		}
	}
	return fmt.Sprintf("> %s", time.Duration(h.bounds[len(h.bounds)-1]*float64(time.Second)))
}
