package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"fargo.dev/fargo/internal/app"
	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/demo"
)

// demoCmd runs `fargo demo`: see internal/demo. SIGINT or SIGTERM stop it
// and everything it started.
func demoCmd(args []string, stdout, stderr io.Writer) int {
	cfg, code := parseDemoFlags(args, stderr)
	if code != 0 {
		return code
	}
	cfg.Out = stdout
	version := buildVersion()
	cfg.Gateway = func(ctx context.Context, c config.Config, log *slog.Logger) error {
		return app.New(c, log, version).Run(ctx)
	}
	// The demo's components log to a file in its directory; what sipgo
	// logs through the default logger would only clutter the report.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	ctx, stop := signalContext(slog.New(slog.DiscardHandler))
	defer stop()
	sum, err := demo.Run(ctx, cfg, version)
	if err != nil {
		var se *demo.StepError
		if !errors.As(err, &se) {
			err = fmt.Errorf("demo failed: %w", err)
		}
		fmt.Fprintf(stderr, "\n%v\n", err)
		return 1
	}
	sum.Report(stdout)
	return 0
}

func parseDemoFlags(args []string, stderr io.Writer) (demo.Config, int) {
	cfg := demo.Default()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "run directory (config, data, logs); emptied at the start")
	fs.IntVar(&cfg.C2SPort, "c2s-port", cfg.C2SPort, "Prosody's XMPP client port")
	fs.IntVar(&cfg.ComponentPort, "component-port", cfg.ComponentPort, "Prosody's component port")
	fs.IntVar(&cfg.GatewaySIPPort, "sip-port", cfg.GatewaySIPPort, "the gateway's SIP port (UDP and TCP)")
	fs.IntVar(&cfg.EchoSIP, "echo-port", cfg.EchoSIP, "the SIP echo's (and registrar's) port (UDP and TCP)")
	fs.IntVar(&cfg.HTTPPort, "http-port", cfg.HTTPPort, "the gateway's /healthz and /metrics port")
	fs.IntVar(&cfg.RelayMin, "relay-min", cfg.RelayMin, "lowest media relay port")
	fs.IntVar(&cfg.RelayMax, "relay-max", cfg.RelayMax, "highest media relay port")
	noInstall := fs.Bool("no-install", false, "never run apt-get; fail if Prosody is missing")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return cfg, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fargo demo: unexpected arguments %q\n", fs.Args())
		return cfg, 2
	}
	cfg.Install = !*noInstall
	return cfg, 0
}
