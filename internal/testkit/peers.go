package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptTimeout bounds one peer script run; ejabberd's slowest start is
// ~3 s, the scripts give up on a peer after 60 s at most.
const scriptTimeout = 3 * time.Minute

// User is an account provisioned on a lab peer.
type User struct {
	Name     string
	Password string
	// Address is the user's bare JID (XMPP servers) or SIP AOR (Kamailio).
	Address string
}

// TCPPortFree reports whether nobody listens on 127.0.0.1:port (a
// wildcard listener on the port counts as taken).
func TCPPortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// UDPPortFree reports whether nobody has bound UDP 127.0.0.1:port.
func UDPPortFree(port int) bool {
	c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// RequirePeer is requirePeer for tests outside testkit that drive the
// peer scripts themselves (the demo).
func RequirePeer(t testing.TB, name string, programs ...string) {
	t.Helper()
	requirePeer(t, name, programs...)
}

// requirePeer applies the skipping policy: without the peer's programs (or
// without root, which the scripts need to drop to the peer's user) a test
// is skipped on a developer's machine but fails in CI, where an end-to-end
// test must never skip silently.
func requirePeer(t testing.TB, name string, programs ...string) {
	t.Helper()
	var missing []string
	for _, p := range programs {
		if _, err := lookProgram(p); err != nil {
			missing = append(missing, p)
		}
	}
	var reason string
	switch {
	case len(missing) > 0:
		reason = fmt.Sprintf("%s: %s not installed (run scripts/peers/install.sh as root)", name, strings.Join(missing, ", "))
	case os.Geteuid() != 0:
		reason = fmt.Sprintf("%s: the peer scripts must run as root (they chown the run dir and drop to the peer's user)", name)
	default:
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, and an end-to-end test never skips in CI", reason)
	}
	t.Skip(reason)
}

// lookProgram finds p on PATH or in the sbin directories a non-root PATH
// often lacks (kamailio, ejabberdctl live there).
func lookProgram(p string) (string, error) {
	if path, err := exec.LookPath(p); err == nil {
		return path, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		path := filepath.Join(dir, p)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s not found", p)
}

var (
	peersDirOnce sync.Once
	peersDir     string
	peersDirErr  error
)

// scriptsDir finds scripts/peers in the module root, walking up from the
// working directory (go test runs in the package's directory).
func scriptsDir() (string, error) {
	peersDirOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			peersDirErr = fmt.Errorf("getwd: %w", err)
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				candidate := filepath.Join(dir, "scripts", "peers")
				if _, err := os.Stat(filepath.Join(candidate, "lib.sh")); err != nil {
					peersDirErr = fmt.Errorf("module root %s has no scripts/peers/lib.sh: %w", dir, err)
					return
				}
				peersDir = candidate
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				peersDirErr = errors.New("no go.mod above the working directory")
				return
			}
			dir = parent
		}
	})
	return peersDir, peersDirErr
}

// peer drives one scripts/peers/<name>.sh instance with its own LAB_RUN.
type peer struct {
	name     string   // script base name and run subdirectory
	script   string   // absolute path of the script
	labRun   string   // LAB_RUN given to the script
	env      []string // KEY=value for the script, on top of os.Environ()
	tcpPorts []int
	udpPorts []int
	logs     []string // logs to show when a test fails, relative to labRun
	// startCmd and stopCmd are the script's arguments that start and stop
	// the peer: "start" and "stop" unless a script runs named instances.
	startCmd, stopCmd []string

	mu      sync.Mutex
	running bool
}

// newPeer prepares the run directory and registers the cleanup that stops
// the peer; the directory is removed unless the test failed, when its path
// and the log tails are logged for the post-mortem.
func newPeer(t testing.TB, name string, env []string, tcpPorts, udpPorts []int, logs ...string) *peer {
	t.Helper()
	dir, err := scriptsDir()
	if err != nil {
		t.Fatalf("%s: find peer scripts: %v", name, err)
	}
	for _, p := range slices.Concat(tcpPorts, udpPorts) {
		if p <= 0 || p > 65535 {
			t.Fatalf("%s: port %d: every port must be set explicitly in the config", name, p)
		}
	}
	labRun, err := os.MkdirTemp("", "fargo-testkit-"+name+"-")
	if err != nil {
		t.Fatalf("%s: run dir: %v", name, err)
	}
	// the peer runs as its own system user, which must reach $LAB_RUN/<name>
	if err := os.Chmod(labRun, 0o755); err != nil {
		t.Fatalf("%s: chmod run dir: %v", name, err)
	}
	p := &peer{
		name:     name,
		script:   filepath.Join(dir, name+".sh"),
		labRun:   labRun,
		env:      append([]string{"LAB_RUN=" + labRun}, env...),
		tcpPorts: tcpPorts,
		udpPorts: udpPorts,
		logs:     logs,
		startCmd: []string{"start"},
		stopCmd:  []string{"stop"},
	}
	t.Cleanup(func() { p.cleanup(t) })
	return p
}

// runDir is the peer's own directory inside LAB_RUN.
func (p *peer) runDir() string { return filepath.Join(p.labRun, p.name) }

// run executes the script with args and returns its combined output.
func (p *peer) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{p.script}, args...)...)
	cmd.Env = append(os.Environ(), p.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// a daemon that kept our pipe open must not hang the test
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s.sh %s: %w", p.name, strings.Join(args, " "), err)
	}
	return out.String(), nil
}

func (p *peer) start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return
	}
	p.requirePorts(t)
	began := time.Now()
	out, err := p.run(context.Background(), p.startCmd...)
	if err != nil {
		t.Fatalf("%s did not start: %v\n%s", p.name, err, out)
	}
	p.running = true
	t.Logf("%s started in %v (run dir %s)", p.name, time.Since(began).Round(time.Millisecond), p.runDir())
}

// requirePorts fails the test if one of the peer's ports is taken.
func (p *peer) requirePorts(t testing.TB) {
	t.Helper()
	for _, port := range p.tcpPorts {
		if !TCPPortFree(port) {
			t.Fatalf("%s: TCP port 127.0.0.1:%d is taken; pick another port in the test's config", p.name, port)
		}
	}
	for _, port := range p.udpPorts {
		if !UDPPortFree(port) {
			t.Fatalf("%s: UDP port 127.0.0.1:%d is taken; pick another port in the test's config", p.name, port)
		}
	}
}

func (p *peer) stop(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	began := time.Now()
	out, err := p.run(context.Background(), p.stopCmd...)
	p.running = false
	if err != nil {
		t.Errorf("%s did not stop: %v\n%s", p.name, err, out)
		return
	}
	t.Logf("%s stopped in %v", p.name, time.Since(began).Round(time.Millisecond))
}

func (p *peer) cleanup(t testing.TB) {
	if out, err := p.run(context.Background(), p.stopCmd...); err != nil {
		t.Errorf("%s did not stop: %v\n%s", p.name, err, out)
	}
	if t.Failed() {
		for _, l := range p.logs {
			t.Logf("----- %s: last lines of %s -----\n%s", p.name, l, tail(filepath.Join(p.labRun, l), 40))
		}
		t.Logf("%s: run dir kept for inspection: %s", p.name, p.runDir())
		return
	}
	if err := os.RemoveAll(p.labRun); err != nil {
		t.Logf("%s: remove run dir: %v", p.name, err)
	}
}

// tail returns the last n lines of a file (or why it cannot).
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkSIPPeer fails the test unless proxy, where a lab SIP peer sends all
// its requests, is a loopback IP:port, and every port is in range.
func checkSIPPeer(t testing.TB, name, proxy string, ports ...int) {
	t.Helper()
	if ap, err := netip.ParseAddrPort(proxy); err != nil || !ap.Addr().IsLoopback() {
		t.Fatalf("%s: Proxy %q must be a loopback IP:port", name, proxy)
	}
	for _, p := range ports {
		if p <= 0 || p > 65535 {
			t.Fatalf("%s: port %d out of range: set the SIP port in the config", name, p)
		}
	}
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
