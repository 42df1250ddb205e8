package loadgen

import (
	"bufio"
	"context"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// gatewayLatencyMetric is the gateway's histogram of its own share of call
// setup (internal/gateway.LatencyPhase), which the stamps taken here cannot
// separate from the XMPP server's and the registrar's.
const gatewayLatencyMetric = "fargo_gateway_call_setup_latency_seconds_bucket"

// bucketCounts are a histogram's cumulative counts by upper bound (+Inf
// as math.Inf(1)), per phase.
type bucketCounts map[string]map[float64]float64

// GatewayLatency is one phase of the gateway's own setup latency over a
// step, from the difference of its histogram between the step's start and
// end: quantiles are bucket upper bounds ("at most").
type GatewayLatency struct {
	N           uint64  `json:"n"`
	P50AtMostMS float64 `json:"p50_at_most_ms"`
	P99AtMostMS float64 `json:"p99_at_most_ms"`
	WithinTwoMS float64 `json:"share_within_2ms"`
	MeanMS      float64 `json:"mean_ms,omitempty"`
}

// scrapeGatewayLatency reads the histogram; an error or a gateway without
// it gives nil (the step then reports only the stamps taken here).
func (r *runner) scrapeGatewayLatency(ctx context.Context) (bucketCounts, map[string][2]float64) {
	if r.cfg.MetricsURL == "" {
		return nil, nil
	}
	buckets, sums := bucketCounts{}, map[string][2]float64{}
	err := get(ctx, r.cfg.MetricsURL, func(body io.Reader) error {
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			parseLatencyLine(sc.Text(), buckets, sums)
		}
		return sc.Err()
	})
	if err != nil || len(buckets) == 0 {
		return nil, nil
	}
	return buckets, sums
}

// parseLatencyLine takes one exposition line of the histogram:
// name{le="0.002",phase="x"} 12, or its _sum/_count.
func parseLatencyLine(line string, buckets bucketCounts, sums map[string][2]float64) {
	base := strings.TrimSuffix(gatewayLatencyMetric, "_bucket")
	name, rest, ok := strings.Cut(line, "{")
	if !ok || !strings.HasPrefix(name, base) {
		return
	}
	labels, value, ok := strings.Cut(rest, "} ")
	if !ok {
		return
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil {
		return
	}
	phase, le := label(labels, "phase"), label(labels, "le")
	switch name {
	case gatewayLatencyMetric:
		bound, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			bound, err = math.Inf(1), nil
		}
		if err != nil {
			return
		}
		if buckets[phase] == nil {
			buckets[phase] = map[float64]float64{}
		}
		buckets[phase][bound] = v
	case base + "_sum":
		s := sums[phase]
		s[0] = v
		sums[phase] = s
	case base + "_count":
		s := sums[phase]
		s[1] = v
		sums[phase] = s
	}
}

func label(labels, key string) string {
	for kv := range strings.SplitSeq(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == key {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// gatewayLatencyDelta turns two scrapes into per-phase figures.
func gatewayLatencyDelta(b0, b1 bucketCounts, s0, s1 map[string][2]float64) map[string]GatewayLatency {
	if b1 == nil {
		return nil
	}
	out := map[string]GatewayLatency{}
	for phase, end := range b1 {
		bounds := make([]float64, 0, len(end))
		for b := range end {
			bounds = append(bounds, b)
		}
		slices.Sort(bounds)
		cum := make([]float64, len(bounds))
		for i, b := range bounds {
			cum[i] = end[b] - b0[phase][b]
		}
		n := cum[len(cum)-1]
		if n <= 0 {
			continue
		}
		g := GatewayLatency{N: uint64(n), P50AtMostMS: quantileBound(bounds, cum, 0.5), P99AtMostMS: quantileBound(bounds, cum, 0.99)}
		for i, b := range bounds {
			if b == 0.002 {
				g.WithinTwoMS = cum[i] / n
			}
		}
		if ds := s1[phase][0] - s0[phase][0]; ds > 0 {
			g.MeanMS = 1000 * ds / n
		}
		out[phase] = g
	}
	return out
}

// quantileBound is the smallest bucket bound holding the q quantile, in
// ms; -1 when it is beyond the last finite bound (JSON has no infinity).
func quantileBound(bounds, cum []float64, q float64) float64 {
	n := cum[len(cum)-1]
	for i, c := range cum {
		if c >= q*n {
			if math.IsInf(bounds[i], 1) {
				return -1
			}
			return 1000 * bounds[i]
		}
	}
	return -1
}
