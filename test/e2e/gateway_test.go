package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fargo.dev/fargo/internal/testkit"
)

// fargoBin is built once by TestMain.
var fargoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fargo-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fargoBin = filepath.Join(dir, "fargo")
	build := exec.Command("go", "build", "-race", "-o", fargoBin, "fargo.dev/fargo/cmd/fargo")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build fargo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatewayConfig is what a test chooses about the gateway it runs.
type gatewayConfig struct {
	server    *testkit.XMPPServer
	sipPort   int
	httpPort  int
	dataDir   string
	grace     time.Duration
	extraTOML string
}

// gatewayProc is a running fargo serve process.
type gatewayProc struct {
	cfg  gatewayConfig
	cmd  *exec.Cmd
	done chan error
	logs *logBuffer
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (c gatewayConfig) toml() string {
	return fmt.Sprintf(`
[component]
domain = %q
server = %q
secret = %q
reconnect_backoff_max = "2s"

[sip]
listen = "127.0.0.1:%d"
register_expiry = "10m"
request_timeout = "5s"
retry_min = "1s"
retry_max = "5s"
auth_retry_min = "30s"
auth_retry_max = "1m"

[store]
data_dir = %q

[http]
listen = "127.0.0.1:%d"

[log]
level = "debug"

[registration]
presence_grace = %q
offline_confirm = "5s"
validate_timeout = "5s"

[shutdown]
drain_timeout = "5s"
%s`, c.server.ComponentDomain, c.server.ComponentAddr, c.server.Secret, c.sipPort, c.dataDir, c.httpPort, c.grace.String(), c.extraTOML)
}

// startGateway runs fargo serve and waits until it is linked to the XMPP server.
func startGateway(t *testing.T, cfg gatewayConfig) *gatewayProc {
	t.Helper()
	path := filepath.Join(cfg.dataDir, "fargo.toml")
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(cfg.toml()), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gatewayProc{cfg: cfg, done: make(chan error, 1), logs: &logBuffer{}}
	g.cmd = exec.Command(fargoBin, "serve", "--config", path)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.done <- g.cmd.Wait() }()
	t.Cleanup(func() {
		g.stop(t)
		g.checkNoSecrets(t)
		if t.Failed() {
			t.Logf("fargo log:\n%s", g.logs.String())
		}
	})
	g.waitHealthy(t)
	return g
}

func (g *gatewayProc) healthURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/healthz", g.cfg.httpPort)
}

// waitHealthy waits for /healthz to say the component link is up.
func (g *gatewayProc) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-g.done:
			g.done <- err
			t.Fatalf("fargo exited: %v\n%s", err, g.logs.String())
		default:
		}
		resp, err := http.Get(g.healthURL())
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			_ = body
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fargo did not become healthy\n%s", g.logs.String())
}

// stop sends SIGTERM and waits for a clean exit.
func (g *gatewayProc) stop(t *testing.T) {
	t.Helper()
	if g.cmd.ProcessState != nil {
		return
	}
	select {
	case err := <-g.done:
		g.done <- err
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		g.done <- err
		if err != nil {
			t.Errorf("fargo exited with %v after SIGTERM\n%s", err, g.logs.String())
		}
	case <-time.After(20 * time.Second):
		_ = g.cmd.Process.Kill()
		t.Errorf("fargo did not stop within 20s of SIGTERM\n%s", g.logs.String())
	}
}

// secrets are every password and secret the tests give the gateway; its
// log (at debug level) must contain none of them.
var secrets = []string{"alicepw", "bobpw", "carolpw", "not-bobs-password", "changed-at-the-provider", "sipsecret"}

func (g *gatewayProc) checkNoSecrets(t *testing.T) {
	t.Helper()
	logs := g.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the gateway's log contains the secret %q", s)
		}
	}
}

// metric reads one sample value from /metrics.
func (g *gatewayProc) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", g.cfg.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
