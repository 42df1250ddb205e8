package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Debug is diagnostics that stay off in production.
type Debug struct {
	// Pprof serves net/http/pprof under /debug/pprof/ on http.listen:
	// CPU, heap, goroutine and trace profiles, and a forced GC
	// (/debug/pprof/heap?gc=1) before a live-heap reading.
	Pprof bool `toml:"pprof"`
}

// validateDebug refuses pprof anywhere but loopback: profiles show the
// process's command line and code paths, and a CPU profile or trace costs
// the gateway CPU for as long as the caller asks, so it is not for the
// network http.listen may otherwise be open to.
func (c *Config) validateDebug() error {
	if !c.Debug.Pprof {
		return nil
	}
	if c.HTTP.Listen == "" {
		return errors.New("debug.pprof: needs http.listen, where /debug/pprof/ is served")
	}
	host, _, err := net.SplitHostPort(c.HTTP.Listen)
	if err != nil {
		return nil // http.listen's own check reports it
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("debug.pprof: http.listen %q is not a loopback address; serve the profiles on 127.0.0.1 or [::1] only", c.HTTP.Listen)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
