package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
)

// fakeGateway serves /metrics and, when pprof, /debug/pprof/heap; a
// forced GC (gc=1) "frees" 1 MB of the heap it reports.
func fakeGateway(t *testing.T, pprof bool) (metricsURL string, gcs *atomic.Int32) {
	gcs = new(atomic.Int32)
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		freed := float64(gcs.Load()) * 1e6
		io.WriteString(w, "# HELP go_memstats_heap_alloc_bytes x\n# TYPE go_memstats_heap_alloc_bytes gauge\n")
		io.WriteString(w, "go_memstats_heap_alloc_bytes "+ftoa(5e6-freed)+"\n")
		io.WriteString(w, "go_memstats_heap_inuse_bytes "+ftoa(6e6-freed)+"\ngo_memstats_heap_inuse_bytes_total 1\n")
	})
	if pprof {
		mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("gc") == "1" {
				gcs.Add(1)
			}
			io.WriteString(w, "profile")
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics", gcs
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func TestLiveHeapForcesAGCFirst(t *testing.T) {
	u, gcs := fakeGateway(t, true)
	h, err := liveHeap(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if gcs.Load() != 1 || h.AllocBytes != 4e6 || h.InuseBytes != 5e6 {
		t.Fatalf("%d GCs, %+v: want the gauges read after one forced GC", gcs.Load(), h)
	}
	if got, _ := pprofHeapURL("http://127.0.0.1:9070/metrics?x=1"); got != "http://127.0.0.1:9070/debug/pprof/heap?gc=1" {
		t.Fatalf("pprof URL %q", got)
	}
}

func TestMemoryWithoutPprofIsRSSOnly(t *testing.T) {
	u, _ := fakeGateway(t, false)
	if _, err := liveHeap(context.Background(), u); err == nil {
		t.Fatal("a gateway without pprof gave a live heap")
	}
	r := &runner{cfg: Config{MetricsURL: u, GatewayPID: os.Getpid()}.withDefaults()}
	res := &Result{}
	r.baselineMemory(context.Background(), res)
	if res.Memory.LiveBaseline != nil || res.Memory.HeapBaseline != 6e6 || len(res.Notes) != 1 {
		t.Fatalf("memory %+v notes %q", res.Memory, res.Notes)
	}
	res.Memory.finish(res.Memory.BaselineKiB+1000, 7e6, 10)
	if res.Memory.LivePerUser != nil || res.Memory.HeapPerUser != 1e5 {
		t.Fatalf("memory %+v", res.Memory)
	}
}

func TestLivePerUser(t *testing.T) {
	m := MemoryResult{BaselineKiB: 1000, LiveBaseline: &LiveHeap{AllocBytes: 1e6, InuseBytes: 2e6}, LiveIdle: &LiveHeap{AllocBytes: 3e6, InuseBytes: 5e6}}
	m.finish(2000, 0, 1000)
	if m.LivePerUser == nil || m.LivePerUser.AllocBytes != 2000 || m.LivePerUser.InuseBytes != 3000 || m.PerOnlineUserBytes != 1024 {
		t.Fatalf("%+v %+v", m, m.LivePerUser)
	}
}
