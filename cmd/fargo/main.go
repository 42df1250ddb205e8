// Command fargo is the XMPP ⇄ SIP gateway. Subcommands:
//
//	fargo serve --config fargo.toml   run the gateway
//	fargo echo-sip [flags]            run the SIP echo service (echo.go)
//	fargo version                     print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"fargo.dev/fargo/internal/app"
	"fargo.dev/fargo/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "echo-sip":
		return echoSIP(args[1:], stderr)
	case "echo":
		return echoXMPP(args[1:], stderr)
	case "bench":
		return bench(args[1:], stdout, stderr)
	case "demo":
		return demoCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "fargo", buildVersion())
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "fargo: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: fargo <command> [flags]

Commands:
  demo [flags]          run the demo: private Prosody, gateway, SIP echo, calls (demo -h)
  serve --config FILE   run the gateway (see examples/fargo.toml)
  echo-sip [flags]      run a SIP echo test service (sip:echo@host:port)
  echo --jid JID ...    run an XMPP echo bot account (echo --help for its flags)
  bench [flags]         load-test a running gateway (bench --help; docs/performance.md)
  version               print the version

`)
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/fargo/fargo.toml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "fargo: %v\n", err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	// Libraries that log through slog's default logger (sipgo does for a
	// few transport warnings) must end up in the same structured stream.
	slog.SetDefault(log)
	tuneGC(log)
	ctx, stop := signalContext(log)
	defer stop()
	if err := app.New(cfg, log, buildVersion()).Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("fargo failed", "err", err)
		return 1
	}
	return 0
}

// signalContext is cancelled by the first SIGTERM or SIGINT, which starts
// the drain; a second one exits at once.
func signalContext(log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-ch
		log.Info("signal received: draining (send it again to stop at once)", "signal", s.String())
		cancel()
		s = <-ch
		log.Warn("second signal: stopping now", "signal", s.String())
		os.Exit(1)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
	}
	return "devel"
}
