package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"fargo.dev/fargo/internal/gateway"
)

// latencyCollector exposes the gateway's setup-latency histograms, one
// series per phase, from the snapshot taken at scrape time.
type latencyCollector struct {
	gw   func() gateway.Stats
	desc *prometheus.Desc
}

func newLatencyCollector(gw func() gateway.Stats) *latencyCollector {
	return &latencyCollector{gw: gw, desc: prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "gateway", "call_setup_latency_seconds"),
		"The gateway's own share of call setup: from a message's arrival to the message it causes on the other side (phase).",
		[]string{"phase"}, nil)}
}

func (c *latencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *latencyCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.gw()
	for p, h := range st.Latency {
		buckets := make(map[float64]uint64, len(gateway.LatencyBuckets))
		var cum uint64
		for i, le := range gateway.LatencyBuckets {
			cum += h.Counts[i]
			buckets[le] = cum
		}
		count := cum + h.Counts[len(h.Counts)-1]
		ch <- prometheus.MustNewConstHistogram(c.desc, count, h.Sum.Seconds(), buckets, gateway.LatencyPhase(p).String())
	}
}
