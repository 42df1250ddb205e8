package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LiveHeap is the gateway's Go heap right after a forced collection: what
// its users really hold, without the garbage RSS and the plain heap gauges
// carry (nothing allocates while users idle, so no GC would run by itself).
type LiveHeap struct {
	AllocBytes float64 `json:"alloc_bytes"` // go_memstats_heap_alloc_bytes: live objects
	InuseBytes float64 `json:"inuse_bytes"` // go_memstats_heap_inuse_bytes: their spans
}

// pprofHeapURL is the gateway's /debug/pprof/heap?gc=1, on the listener of
// its /metrics ([debug] pprof serves both there).
func pprofHeapURL(metricsURL string) (string, error) {
	u, err := url.Parse(metricsURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("metrics URL %q: not an absolute URL", metricsURL)
	}
	u.Path, u.RawQuery, u.Fragment = "/debug/pprof/heap", "gc=1", ""
	return u.String(), nil
}

// liveHeap makes the gateway collect garbage (a heap profile with gc=1
// runs runtime.GC first; the profile itself is thrown away), then reads
// its heap gauges. An error means the gateway's pprof is not reachable
// ([debug] pprof off) or its metrics are not.
func liveHeap(ctx context.Context, metricsURL string) (LiveHeap, error) {
	pu, err := pprofHeapURL(metricsURL)
	if err != nil {
		return LiveHeap{}, err
	}
	if err := get(ctx, pu, func(io.Reader) error { return nil }); err != nil {
		return LiveHeap{}, fmt.Errorf("gateway pprof: %w", err)
	}
	names := []string{"go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes"}
	v, err := scrapeGauges(ctx, metricsURL, names...)
	if err != nil {
		return LiveHeap{}, err
	}
	return LiveHeap{AllocBytes: v[names[0]], InuseBytes: v[names[1]]}, nil
}

// scrapeGauges reads unlabelled series from one scrape of a Prometheus
// text endpoint, so that all come from the same moment.
func scrapeGauges(ctx context.Context, metricsURL string, names ...string) (map[string]float64, error) {
	got := make(map[string]float64, len(names))
	err := get(ctx, metricsURL, func(body io.Reader) error {
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			name, v, ok := strings.Cut(sc.Text(), " ")
			if !ok || !slices.Contains(names, name) {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			got[name] = f
		}
		return sc.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			return nil, errors.New(n + " not found")
		}
	}
	return got, nil
}

// get fetches u and hands a 200's body to read; a heap profile after a
// full GC of a large heap takes a while, hence the generous timeout.
func get(ctx context.Context, u string, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := read(resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
