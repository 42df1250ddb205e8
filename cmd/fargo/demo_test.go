package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDemoFlags(t *testing.T) {
	var stderr bytes.Buffer
	cfg, code := parseDemoFlags([]string{"-dir", "/tmp/x", "-c2s-port", "26201", "-relay-min", "26300", "-relay-max", "26310", "-no-install"}, &stderr)
	if code != 0 || cfg.Dir != "/tmp/x" || cfg.C2SPort != 26201 || cfg.RelayMin != 26300 || cfg.RelayMax != 26310 || cfg.Install {
		t.Fatalf("code %d cfg %+v: %s", code, cfg, stderr.String())
	}
	if cfg.ComponentPort != 7447 {
		t.Fatalf("default component port %d", cfg.ComponentPort)
	}
	if _, code := parseDemoFlags([]string{"extra"}, &stderr); code != 2 {
		t.Fatalf("extra argument: code %d", code)
	}
}

func TestDemoUsageListed(t *testing.T) {
	var out bytes.Buffer
	usage(&out)
	if !strings.Contains(out.String(), "demo [flags]") {
		t.Fatalf("usage lacks demo:\n%s", out.String())
	}
}
