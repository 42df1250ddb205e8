package loadgen

import (
	"slices"
	"sync"
	"time"
)

// samples keeps every latency of one kind in a step: at 2,000 calls/s for
// 60 s that is 120,000 values (1 MiB), cheap enough to keep them all and
// take exact percentiles rather than bucketed ones.
type samples struct {
	mu sync.Mutex
	v  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.v = append(s.v, d)
	s.mu.Unlock()
}

// Percentiles summarises latencies in milliseconds.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func (s *samples) summary() Percentiles {
	s.mu.Lock()
	v := slices.Clone(s.v)
	s.mu.Unlock()
	return summarize(v)
}

func summarize(v []time.Duration) Percentiles {
	if len(v) == 0 {
		return Percentiles{}
	}
	slices.Sort(v)
	at := func(q float64) float64 {
		i := int(q*float64(len(v))+0.5) - 1
		i = max(0, min(i, len(v)-1))
		return ms(v[i])
	}
	return Percentiles{N: len(v), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: ms(v[len(v)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
