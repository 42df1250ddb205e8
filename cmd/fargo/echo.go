package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/echo"
)

// echoSIP runs the SIP echo service until SIGINT or SIGTERM.
func echoSIP(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo-sip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", echo.DefaultListen, "SIP listen address IP:port (UDP and TCP); RTP uses the same IP")
	user := fs.String("user", echo.DefaultUser, "the Request-URI user the echo answers")
	contact := fs.String("contact-host", "", "host[:port] for Contact/Via and the SDP address (default: the listen address)")
	aor := fs.String("register-aor", "", "register as this address of record, e.g. echo@sip.example.org (default: no registration)")
	registrar := fs.String("registrar", "", "registrar host[:port] (default: the AOR's host)")
	passFile := fs.String("password-file", "", "file holding the registration password")
	maxCall := fs.Duration("max-call", echo.DefaultMaxCall, "hang up calls after this long")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fargo echo-sip: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "fargo echo-sip: --log-level: %v\n", err)
		return 2
	}
	cfg := echo.Config{Listen: *listen, ContactHost: *contact, User: *user, MaxCall: *maxCall,
		Register: echo.Account{AOR: *aor, Registrar: *registrar}}
	if *aor != "" {
		pw, err := readPassword(*passFile)
		if err != nil {
			fmt.Fprintf(stderr, "fargo echo-sip: %v\n", err)
			return 1
		}
		cfg.Register.Password = pw
	}
	log := newLogger(config.Log{Level: lvl.String()}, stderr)
	slog.SetDefault(log) // see serve: sipgo's few default-logger warnings
	svc, err := echo.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "fargo echo-sip: %v\n", err)
		return 1
	}
	ctx, stop := signalContext(log)
	defer stop()
	if err := svc.Run(ctx); err != nil {
		log.Error("fargo echo-sip failed", "err", err)
		return 1
	}
	return 0
}

// readPassword reads the password from a file (never a flag: flags show in
// ps), without its trailing newline.
func readPassword(path string) (string, error) {
	if path == "" {
		return "", errors.New("--register-aor needs --password-file")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("password file %s is empty", path)
	}
	return pw, nil
}
