package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"fargo.dev/fargo/internal/config"
)

// Config chooses where the demo runs. Zero fields take Default's values.
type Config struct {
	// Dir holds everything the demo writes (Prosody's config and data,
	// the gateway's store, the logs); it is wiped at the start.
	Dir string
	// Loopback ports. Defaults in the 7xxx range, apart from those
	// scripts/demo-phones.sh uses.
	C2SPort, ComponentPort  int
	GatewaySIPPort, EchoSIP int
	HTTPPort                int // the gateway's /healthz and /metrics
	RelayMin, RelayMax      int // the gateway's media relay
	// Install lets the demo run apt-get for a missing Prosody.
	Install bool
	// Timeout bounds the whole demo.
	Timeout time.Duration
	// Out receives the report.
	Out io.Writer
	// Gateway runs the gateway with cfg until ctx ends: app.New(…).Run,
	// passed in by cmd/fargo, the only importer of internal/app.
	Gateway func(ctx context.Context, cfg config.Config, log *slog.Logger) error
}

// Identities of the demo: the XMPP domain and its user, the gateway's
// component domain, and the SIP domain of the user's SIP account (served
// by the SIP echo acting as registrar).
const (
	xmppDomain   = "demo.test"
	gwDomain     = "sip.demo.test"
	sipDomain    = "voip.demo.test"
	userName     = "alice"
	userPassword = "alice-demo-pass"
	sipPassword  = "alice-sip-pass"
	echoUser     = "echo"
	tone         = 1000.0 // Hz
	toneLength   = 1500 * time.Millisecond
)

// Default is the configuration `fargo demo` runs with when no flag says
// otherwise.
func Default() Config {
	return Config{
		Dir:            "/tmp/fargo-demo-run",
		C2SPort:        7422,
		ComponentPort:  7447,
		GatewaySIPPort: 7460,
		EchoSIP:        7480,
		HTTPPort:       7490,
		RelayMin:       7800,
		RelayMax:       7899,
		Install:        true,
		Timeout:        3 * time.Minute,
	}
}

func (c Config) withDefaults() Config {
	d := Default()
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	if c.Dir == "" {
		c.Dir = d.Dir
	}
	set(&c.C2SPort, d.C2SPort)
	set(&c.ComponentPort, d.ComponentPort)
	set(&c.GatewaySIPPort, d.GatewaySIPPort)
	set(&c.EchoSIP, d.EchoSIP)
	set(&c.HTTPPort, d.HTTPPort)
	set(&c.RelayMin, d.RelayMin)
	set(&c.RelayMax, d.RelayMax)
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// check refuses port settings that cannot work.
func (c Config) check() error {
	if c.RelayMax < c.RelayMin+3 {
		return fmt.Errorf("relay ports %d-%d: need at least 4", c.RelayMin, c.RelayMax)
	}
	for _, p := range c.ports() {
		if p.port < 1 || p.port > 65535 {
			return fmt.Errorf("%s port %d out of range", p.what, p.port)
		}
	}
	return nil
}

// port is one loopback port the demo listens on.
type port struct {
	port int
	udp  bool // UDP as well as TCP (SIP) or only UDP (relay)
	tcp  bool
	what string
}

func (c Config) ports() []port {
	ps := []port{
		{c.C2SPort, false, true, "XMPP client (Prosody c2s)"},
		{c.ComponentPort, false, true, "XMPP component (Prosody)"},
		{c.GatewaySIPPort, true, true, "gateway SIP"},
		{c.EchoSIP, true, true, "SIP echo and registrar"},
		{c.HTTPPort, false, true, "gateway /healthz and /metrics"},
	}
	for p := c.RelayMin; p <= c.RelayMax; p++ {
		ps = append(ps, port{p, true, false, "gateway media relay"})
	}
	return ps
}
