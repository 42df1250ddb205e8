package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/echo"
)

// service is something the demo runs in-process until it stops it.
type service struct {
	stop func() // cancels its context
	done chan error
}

// halt stops the service and waits for it.
func (s *service) halt() error {
	s.stop()
	return <-s.done
}

// startEcho runs the SIP echo as echo@sipDomain, and as the registrar of
// the demo user's SIP account.
func startEcho(ctx context.Context, c Config, log *slog.Logger) (*echo.Service, *service, error) {
	svc, err := echo.New(echo.Config{
		Listen: "127.0.0.1:" + strconv.Itoa(c.EchoSIP), User: echoUser, MaxCall: time.Minute,
		Registrar: echo.Registrar{Domain: sipDomain, Accounts: map[string]string{userName: sipPassword}},
	}, log.With("subsystem", "echo"))
	if err != nil {
		return nil, nil, err
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &service{stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- svc.Run(run) }()
	select {
	case <-svc.Ready():
		return svc, s, nil
	case err := <-s.done:
		cancel()
		return nil, nil, fmt.Errorf("SIP echo: %w", err)
	case <-ctx.Done():
		_ = s.halt()
		return nil, nil, ctx.Err()
	}
}

// gatewayTOML is the gateway's configuration, written to the run
// directory so that it can be read and reused with `fargo serve`.
func gatewayTOML(c Config, dir, secret string) string {
	lo, hi, _, _ := c.relayRanges()
	return fmt.Sprintf(`# written by fargo demo
[component]
domain = %q
server = "127.0.0.1:%d"
secret = %q
[sip]
listen = "127.0.0.1:%d"
[store]
data_dir = %q
[http]
listen = "127.0.0.1:%d"
[media]
mode = "relay"
bind = "127.0.0.1"
port_min = %d
port_max = %d
[shutdown]
drain_timeout = "5s"
`, gwDomain, c.ComponentPort, secret, c.GatewaySIPPort, filepath.Join(dir, "store"), c.HTTPPort, lo, hi)
}

// startGateway runs the gateway in-process and waits until it is linked
// to Prosody (its /healthz says ok).
func startGateway(ctx context.Context, c Config, dir, secret string, log *slog.Logger) (*service, error) {
	text := gatewayTOML(c, dir, secret)
	path := filepath.Join(dir, "fargo.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Parse(text, path)
	if err != nil {
		return nil, err
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &service{stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- c.Gateway(run, cfg, log.With("subsystem", "gateway")) }()
	if err := waitHealthy(ctx, c.HTTPPort, s.done); err != nil {
		_ = s.halt()
		return nil, err
	}
	return s, nil
}

// waitHealthy polls /healthz until the gateway reports it is linked.
func waitHealthy(ctx context.Context, port int, done chan error) error {
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if res, err := client.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-done:
			done <- err
			if err == nil {
				err = errors.New("stopped")
			}
			return fmt.Errorf("the gateway stopped: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the gateway is not linked to Prosody after 20 s (" + url + " is not ok)")
		}
	}
}
