package ops

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// OverdueCounter counts the objections left unanswered past their deadline
// at now (rights.Overdue).
type OverdueCounter interface {
	OverdueObjections(ctx context.Context, now time.Time) (int, error)
}

// WatchOverdueObjections exports creditnode_objections_overdue, the open
// objections older than the 20-day answer deadline, read from c at scrape
// time with clock's time (time.Now if nil). A failed read is counted as a
// store error and the gauge is left out of that scrape.
func (m *Metrics) WatchOverdueObjections(c OverdueCounter, clock func() time.Time, logger *slog.Logger) {
	if m == nil {
		return
	}
	if clock == nil {
		clock = time.Now
	}
	m.reg.MustRegister(&overdueCollector{m: m, c: c, clock: clock, log: logger,
		desc: prometheus.NewDesc("creditnode_objections_overdue",
			"Subjects' objections still open past the 20-day answer deadline.", nil, m.constLabels())})
}

type overdueCollector struct {
	m     *Metrics
	c     OverdueCounter
	clock func() time.Time
	log   *slog.Logger
	desc  *prometheus.Desc
}

func (o *overdueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

func (o *overdueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := o.c.OverdueObjections(ctx, o.clock())
	if err != nil {
		o.m.StoreError("objections_overdue")
		if o.log != nil {
			o.log.LogAttrs(ctx, slog.LevelWarn, "metrics: counting overdue objections", slog.Any("err", err))
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(n))
}
