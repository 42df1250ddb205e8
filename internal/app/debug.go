package app

import (
	"net/http"
	"net/http/pprof"
)

// mountDebug serves Go's profiler under /debug/pprof/ when [debug] pprof
// is on; config validation keeps it to a loopback http.listen. The
// handlers are mounted on our mux by name: importing net/http/pprof also
// registers them on http.DefaultServeMux, which Fargo never serves.
func (a *App) mountDebug(mux *http.ServeMux) {
	if !a.cfg.Debug.Pprof {
		return
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile: heap, goroutine, allocs…
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.log.Info("pprof enabled", "url", "http://"+a.cfg.HTTP.Listen+"/debug/pprof/")
}
