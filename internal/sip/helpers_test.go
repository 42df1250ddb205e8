package sip

import (
	"context"
	"fargo.dev/fargo/internal/testlog"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

const (
	testPassword  = "s3cret-Pa55word"
	wrongPassword = "wr0ng-Pa55word"
	testToken     = "tok-alice"
)

// TestMain fails the run if goroutines outlive the tests: the UA owns
// sockets and goroutines and must stop all of them.
//
// It also captures slog's default logger: a few sipgo messages bypass the
// injected logger (connection reference counting), and those must not
// carry secrets either.
func TestMain(m *testing.M) {
	global := &testlog.Buffer{}
	slog.SetDefault(slog.New(slog.NewTextHandler(global, &slog.HandlerOptions{Level: slog.LevelDebug})))
	code := leakcheck.Run(m, 10*time.Second)
	if s := secretIn(global.String()); s != "" {
		fmt.Fprintf(os.Stderr, "default logger output contains %q\n", s)
		code = 1
	}
	os.Exit(code)
}

// secretIn returns the first secret found in log output.
func secretIn(out string) string {
	for _, secret := range []string{testPassword, wrongPassword, "Authorization", "response="} {
		if strings.Contains(out, secret) {
			return secret
		}
	}
	return ""
}

// tokens is an InboundPolicy backed by a set.
type tokens map[string]bool

func (p tokens) KnownToken(_ context.Context, t string) bool { return p[t] }

// startUA runs a UA on a random loopback port until the test ends, logging
// at debug level, and checks at the end that no secret reached the log.
func startUA(t testing.TB, cfg Config) *UA {
	t.Helper()
	return startUAWith(t, cfg, nil)
}

// startUAWith is startUA with a hook to run between NewUA and Run, where
// SetIncoming must be called.
func startUAWith(t testing.TB, cfg Config, setup func(*UA)) *UA {
	t.Helper()
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = "127.0.0.1:0"
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "fargo-test/0.1"
	}
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ua, err := NewUA(cfg, log, tokens{testToken: true, "tok-bob": true})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(ua)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ua.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		out := logs.String()
		if secretIn(out) != "" {
			t.Errorf("log contains %q:\n%s", secretIn(out), out)
		}
		if os.Getenv("SIP_TEST_LOG") != "" {
			t.Log(out)
		}
	})
	select {
	case <-ua.Ready():
	case err := <-done:
		t.Fatalf("Run ended early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("UA not ready after 5s")
	}
	return ua
}

func aliceAt(registrar, transport string) Account {
	return Account{
		AOR:          "alice@sip.example.org",
		Password:     testPassword,
		Registrar:    registrar,
		Transport:    transport,
		DisplayName:  "Alice",
		ContactToken: testToken,
	}
}

// states collects Registration states and lets a test wait for a phase.
type states struct {
	ch chan State
}

func newStates() *states { return &states{ch: make(chan State, 100)} }

func (s *states) on(st State) { s.ch <- st }

func (s *states) waitPhase(t testing.TB, p Phase, within time.Duration) State {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case st := <-s.ch:
			if st.Phase == p {
				return st
			}
		case <-timeout:
			t.Fatalf("no %s state within %v", p, within)
			return State{}
		}
	}
}

func checkNoSecret(t testing.TB, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), wrongPassword)) {
		t.Errorf("error text contains the password: %v", err)
	}
}
