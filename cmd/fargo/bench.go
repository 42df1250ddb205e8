package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"fargo.dev/fargo/internal/loadgen"
)

// bench runs the load generator (internal/loadgen) against a running
// gateway, XMPP server and registrar; bench/calls.sh brings those up.
func bench(args []string, stdout, stderr io.Writer) int {
	cfg, err := benchConfig(args, stdout, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "fargo bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if res != nil {
		fmt.Fprintf(stdout, "results: %s/%s.json and .svg (SIPp's files in %s)\n", cfg.OutDir, res.Name, res.WorkDir)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "fargo bench: %v\n", err)
		return 1
	}
	return 0
}

// benchConfig turns the flags into a loadgen.Config.
func benchConfig(args []string, stdout, stderr io.Writer) (loadgen.Config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: fargo bench [flags]\n\nOpen-loop load against a running gateway: creates users on the XMPP server,\nregisters them with the gateway, logs them in at -login-rate, then offers calls\nat each of -rates for -step (docs/performance.md, bench/calls.sh).\n\n")
		fs.PrintDefaults()
	}
	var c loadgen.Config
	fs.StringVar(&c.XMPPAddr, "xmpp", "127.0.0.1:5222", "XMPP server c2s address (plain TCP, SASL PLAIN)")
	fs.StringVar(&c.XMPPDomain, "xmpp-domain", "example.test", "the users' XMPP domain")
	fs.StringVar(&c.Component, "gateway", "sip.example.test", "the gateway's component domain")
	fs.StringVar(&c.Registrar, "registrar", "127.0.0.1:5060", "SIP registrar and proxy (without digest auth for bench users)")
	fs.StringVar(&c.SIPDomain, "sip-domain", "sip.example.org", "the registrar's SIP domain")
	fs.StringVar(&c.ComponentListen, "simulate-xmpp", "", "memory mode: play the XMPP server on this address for the gateway's component connection\n(its [component] server), bring -users online through it without a socket per user,\nidle, read the gateway's memory; no calls (-rates must be empty)")
	fs.StringVar(&c.ComponentSecret, "component-secret", "", "the component's shared secret (with -simulate-xmpp)")
	fs.IntVar(&c.Users, "users", 1000, "simulated users")
	fs.StringVar(&c.UserPrefix, "user-prefix", "b", "user names are this prefix and 6 digits")
	fs.StringVar(&c.Password, "password", "benchpw", "password of every user (XMPP and SIP)")
	fs.BoolVar(&c.Create, "create", true, "create the XMPP accounts by in-band registration (XEP-0077)")
	fs.IntVar(&c.Concurrency, "concurrency", 200, "users being set up at once")
	fs.Float64Var(&c.LoginRate, "login-rate", 500, "offered logins (available presences) per second")
	rates := fs.String("rates", "50,100", "offered calls/s per step, comma-separated; empty: no calls")
	fs.Float64Var(&c.IncomingShare, "incoming", 0.5, "share of each step's calls offered SIP → XMPP by SIPp")
	fs.DurationVar(&c.StepDuration, "step", 0, "offering time per step (default 30s)")
	fs.DurationVar(&c.Hold, "hold", 0, "hold time of answered calls (default 1s)")
	fs.DurationVar(&c.SetupTimeout, "setup-timeout", 0, "an unanswered call fails after this (default 10s)")
	fs.BoolVar(&c.StopOnFailure, "stop-on-failure", false, "stop after the first step with failed calls")
	fs.DurationVar(&c.IdleWait, "idle", 0, "keep all users online this long before reading the gateway's memory")
	fs.StringVar(&c.Answer, "answer", loadgen.AnswerUAS, "answering peer of XMPP → SIP calls: uas (built in, per-phase latency) or sipp")
	fs.IntVar(&c.UASPort, "uas-port", 5090, "SIP port of the answering peer (uas@sip-domain); SIPp takes it and the next 5")
	fs.IntVar(&c.SIPpPort, "sipp-port", 5100, "SIP port of the SIPp UAC; its control and media ports follow (+1, +2, +4)")
	fs.StringVar(&c.SIPpBin, "sipp", "sipp", "SIPp binary")
	fs.StringVar(&c.MetricsURL, "metrics", "", "the gateway's /metrics URL (to wait for its registrations to settle)")
	fs.IntVar(&c.GatewayPID, "gateway-pid", 0, "the gateway's pid (CPU and memory from /proc)")
	fs.IntVar(&c.XMPPPID, "xmpp-pid", 0, "the XMPP server's pid (Prosody, or ejabberd's beam.smp)")
	fs.IntVar(&c.RegistrarPID, "registrar-pid", 0, "the registrar's main pid (its children count too)")
	fs.StringVar(&c.OutDir, "out", "bench/results", "directory for the JSON and SVG results")
	fs.StringVar(&c.WorkDir, "work", "", "directory for SIPp's files (default in the system's temp dir)")
	fs.StringVar(&c.Name, "name", "", "results file name without extension (default calls-<UTC time>)")
	verbose := fs.Bool("v", false, "log debug details to stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.Rates, err = parseRates(*rates); err != nil {
		return c, err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	c.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	c.Progress = stdout
	return c, nil
}

func parseRates(s string) ([]float64, error) {
	var rates []float64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-rates: %q is not a positive number", f)
		}
		rates = append(rates, r)
	}
	return rates, nil
}
