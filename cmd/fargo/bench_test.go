package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/app"
	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/testkit"
)

func TestBenchFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"bench", "-rates", "10,x"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-rates") {
		t.Fatalf("bad rates: exit %d, %s", code, errOut.String())
	}
	if code := run([]string{"bench", "-users", "0", "-rates", ""}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "users 0") {
		t.Fatalf("zero users: exit %d, %s", code, errOut.String())
	}
	if code := run([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "bench [flags]") {
		t.Fatalf("help does not list bench: %s", out.String())
	}
}

// Ports of the smoke test (26500–26699, used by no other test).
const (
	smokeC2S, smokeComp, smokeHTTP, smokeHTTPS = 26500, 26501, 26502, 26503
	smokeKam                                   = 26510
	smokeGwSIP, smokeGwHTTP                    = 26520, 26521
	smokeUAS, smokeSIPp                        = 26530, 26540
	smokeUsers                                 = 20
)

// TestBenchSmoke runs `fargo bench` for a few seconds against real Prosody,
// Kamailio and SIPp with the gateway in this process: the run must
// complete calls both ways without a failure and write its JSON and SVG.
// It asserts no timing: CI machines are shared.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real peers")
	}
	testkit.RequirePeer(t, "sipp", "sipp")
	var users []string
	for i := range smokeUsers {
		users = append(users, fmt.Sprintf("s%06d:benchpw", i))
	}
	srv := testkit.StartProsody(t, testkit.ProsodyConfig{C2SPort: smokeC2S, ComponentPort: smokeComp, HTTPPort: smokeHTTP,
		HTTPSPort: smokeHTTPS, Env: []string{"PROSODY_USERS=" + strings.Join(users, " ")}})
	kam := testkit.StartKamailio(t, testkit.KamailioConfig{Port: smokeKam, Env: []string{"KAM_AUTH=0"}})
	startSmokeGateway(t, srv)

	out := t.TempDir()
	var progress bytes.Buffer
	code := run([]string{"bench", "-xmpp", srv.C2SAddr, "-registrar", kam.Addr, "-users", fmt.Sprint(smokeUsers),
		"-user-prefix", "s", "-create=false", "-login-rate", "50", "-rates", "4", "-step", "3s", "-hold", "500ms",
		"-uas-port", fmt.Sprint(smokeUAS), "-sipp-port", fmt.Sprint(smokeSIPp),
		"-metrics", fmt.Sprintf("http://127.0.0.1:%d/metrics", smokeGwHTTP), "-gateway-pid", fmt.Sprint(os.Getpid()),
		"-out", out, "-name", "smoke", "-work", t.TempDir()}, &progress, &progress)
	t.Logf("bench output:\n%s", progress.String())
	if code != 0 {
		t.Fatalf("bench exited %d", code)
	}
	var res struct {
		Login struct{ OK, Failed int }
		Steps []struct {
			Completed int
			Out       struct{ Completed, Failed, Skipped int } `json:"xmpp_to_sip"`
			In        struct {
				SIPp struct{ Successful, Failed int }
			} `json:"sip_to_xmpp"`
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Login.OK != smokeUsers || res.Login.Failed != 0 || len(res.Steps) != 1 {
		t.Fatalf("logins %+v, %d steps:\n%s", res.Login, len(res.Steps), b)
	}
	s := res.Steps[0]
	if s.Out.Completed == 0 || s.Out.Failed+s.Out.Skipped != 0 || s.In.SIPp.Successful == 0 || s.In.SIPp.Failed != 0 {
		t.Fatalf("calls: %+v\n%s", s, b)
	}
	if svg, err := os.ReadFile(filepath.Join(out, "smoke.svg")); err != nil || !bytes.Contains(svg, []byte("<polyline")) {
		t.Fatalf("chart: %v %.200s", err, svg)
	}
}

// startSmokeGateway runs the gateway in this process, linked to srv, until
// the test ends.
func startSmokeGateway(t *testing.T, srv *testkit.XMPPServer) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "fargo.toml")
	toml := fmt.Sprintf(`[component]
domain = %q
server = %q
secret = %q
[sip]
listen = "127.0.0.1:%d"
[store]
data_dir = %q
[http]
listen = "127.0.0.1:%d"
[log]
level = "warn"
[media]
mode = "direct"
[shutdown]
drain_timeout = "3s"
`, srv.ComponentDomain, srv.ComponentAddr, srv.Secret, smokeGwSIP, dir, smokeGwHTTP)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), "smoke").Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if v, err := scrape(fmt.Sprintf("http://127.0.0.1:%d/healthz", smokeGwHTTP)); err == nil && strings.Contains(v, `"connected"`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("gateway not linked to the XMPP server within 20 s")
}

func scrape(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
