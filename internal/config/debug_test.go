package config

import (
	"strings"
	"testing"
)

func TestDebugPprof(t *testing.T) {
	t.Setenv("FARGO_COMPONENT_SECRET", "")
	cfg, err := Parse(minimal, "t")
	if err != nil || cfg.Debug.Pprof {
		t.Fatalf("pprof must default to off: %v %+v", err, cfg.Debug)
	}
	for _, listen := range []string{"127.0.0.1:9070", "[::1]:9070", "localhost:9070", "127.0.0.2:9070"} {
		cfg, err := Parse(minimal+"\n[http]\nlisten = \""+listen+"\"\n[debug]\npprof = true\n", "t")
		if err != nil || !cfg.Debug.Pprof {
			t.Errorf("%s: %v, pprof %v", listen, err, cfg.Debug.Pprof)
		}
	}
	for _, tc := range []struct{ name, toml, want string }{
		{"wildcard", "[http]\nlisten = \"0.0.0.0:9070\"\n[debug]\npprof = true\n", "debug.pprof: http.listen \"0.0.0.0:9070\" is not a loopback address"},
		{"public", "[http]\nlisten = \"203.0.113.10:9070\"\n[debug]\npprof = true\n", "not a loopback address"},
		{"name", "[http]\nlisten = \"ops.example.net:9070\"\n[debug]\npprof = true\n", "not a loopback address"},
		{"no listener", "[http]\nlisten = \"\"\n[debug]\npprof = true\n", "debug.pprof: needs http.listen"},
		{"unknown key", "[debug]\nexpvar = true\n", "unknown key(s): debug.expvar"},
	} {
		_, err := Parse(minimal+"\n"+tc.toml, "t")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	// Off, the listener may be anywhere (it warns at start-up).
	if _, err := Parse(minimal+"\n[http]\nlisten = \"0.0.0.0:9070\"\n[debug]\npprof = false\n", "t"); err != nil {
		t.Fatal(err)
	}
}
