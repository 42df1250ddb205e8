package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"fargo.dev/fargo/internal/config"
)

// TestPprofOnlyWhenEnabled starts the operations listener as Run does and
// asks it for the profiler index and a heap profile after a forced GC (what
// fargo bench reads), with [debug] pprof off and on.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := config.Default()
		cfg.HTTP.Listen = freeLoopbackAddr(t)
		cfg.Debug.Pprof = on
		a := New(cfg, slog.New(slog.DiscardHandler), "test")
		srv, err := a.startHTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") }), nil)
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + cfg.HTTP.Listen
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?gc=1", "/debug/pprof/cmdline"} {
			if got := getStatus(t, base+path); got != want {
				t.Errorf("pprof %v: GET %s: %d, want %d", on, path, got, want)
			}
		}
		if got := getStatus(t, base+"/metrics"); got != http.StatusOK {
			t.Errorf("pprof %v: /metrics: %d", on, got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		cancel()
	}
}

// freeLoopbackAddr is a loopback port free a moment ago: startHTTP takes
// an address, not a listener.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
