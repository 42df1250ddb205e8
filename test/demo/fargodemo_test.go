package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/testkit"
)

// Ports 26200–26499 belong to this test: `fargo demo` runs on them.
var demoPorts = map[string]int{
	"c2s-port": 26422, "component-port": 26447, "sip-port": 26460, "echo-port": 26480, "http-port": 26490,
	"relay-min": 26300, "relay-max": 26399,
}

// TestFargoDemo runs `fargo demo`, the README's first command (through
// scripts/demo.sh), as a newcomer would, twice in the same directory:
// both runs must succeed, hear the tone back, show the signalling and
// leave nothing running.
func TestFargoDemo(t *testing.T) {
	testkit.RequirePeer(t, "fargo demo", "prosody", "prosodyctl")
	bin := buildFargo(t)
	dir := demoDir(t)
	for run := 1; run <= 2; run++ {
		out, err := runDemo(t, bin, dir)
		if err != nil {
			t.Fatalf("run %d: fargo demo: %v\n%s", run, err, out)
		}
		checkReport(t, run, out)
		checkNothingLeft(t, dir)
		if run == 1 {
			t.Log(out)
		}
	}
}

// TestFargoDemoInterrupted: SIGINT in the middle stops everything the
// demo started.
func TestFargoDemoInterrupted(t *testing.T) {
	testkit.RequirePeer(t, "fargo demo", "prosody", "prosodyctl")
	bin := buildFargo(t)
	dir := demoDir(t)
	out := &syncBuffer{}
	cmd := exec.CommandContext(t.Context(), bin, demoArgs(dir)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "linked to Prosody") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err == nil || !strings.Contains(out.String(), "demo failed at step") || !strings.Contains(out.String(), "stop everything") {
		t.Fatalf("interrupted demo: %v\n%s", err, out.String())
	}
	checkNothingLeft(t, dir)
}

// syncBuffer is written by the command's output copier and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFargoDemoNamesTakenPort: a failure names the step and what to check.
func TestFargoDemoNamesTakenPort(t *testing.T) {
	bin := buildFargo(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(demoPorts["c2s-port"]))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, err := runDemo(t, bin, demoDir(t))
	if err == nil {
		t.Fatalf("fargo demo succeeded with its c2s port taken:\n%s", out)
	}
	for _, want := range []string{"demo failed at step 1 (ports and run directory)", "port 26422 (XMPP client (Prosody c2s)) is in use", "check: another program"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// demoDir is a run directory Prosody, which the demo runs as the prosody
// user, can reach (t.TempDir's parent is private to root).
func demoDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "fargo-demo-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func buildFargo(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "fargo")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, "fargo.dev/fargo/cmd/fargo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runDemo(t *testing.T, bin, dir string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, demoArgs(dir)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // let it stop what it started
	cmd.WaitDelay = 20 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func demoArgs(dir string) []string {
	args := []string{"demo", "-dir", dir, "-timeout", "150s"}
	for flag, port := range demoPorts {
		args = append(args, "-"+flag, strconv.Itoa(port))
	}
	return args
}

// summary is one call's line of the final summary.
var summary = regexp.MustCompile(`(?m)^  (the SIP echo|the gateway's echo contact|the XMPP echo bot) .*heard (\d+) Hz \(sent 1000 Hz\), round trip (\S+), call setup (\S+)$`)

func checkReport(t *testing.T, run int, out string) {
	t.Helper()
	m := summary.FindAllStringSubmatch(out, -1)
	if len(m) != 3 {
		t.Fatalf("run %d: want three call summaries:\n%s", run, out)
	}
	for _, c := range m {
		hz, _ := strconv.Atoi(c[2])
		rtt, err1 := time.ParseDuration(c[3])
		setup, err2 := time.ParseDuration(c[4])
		if hz < 950 || hz > 1050 || err1 != nil || err2 != nil || rtt <= 0 || setup <= 0 || setup > 10*time.Second {
			t.Errorf("run %d, %s: heard %d Hz, round trip %q, setup %q", run, c[1], hz, c[3], c[4])
		}
	}
	for _, want := range []string{
		"demo finished:",
		"→ iq set register (XEP-0077 form)  sip.demo.test",
		"→ presence subscribed  sip.demo.test",
		`→ iq set jingle session-initiate (PCMU/8000 telephone-event/8000; raw-udp 127.0.0.1:`,
		`← iq set jingle session-accept (PCMU/8000`,
		"jingle session-terminate (reason success)",
		"the registrar's binding for alice@voip.demo.test: [sip:",
		"the registrar has no binding for alice@voip.demo.test any more",
		"every port is free again",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run %d: output lacks %q:\n%s", run, want, out)
		}
	}
}

// checkNothingLeft: every port is free and no process runs from dir.
func checkNothingLeft(t *testing.T, dir string) {
	t.Helper()
	for flag, port := range demoPorts {
		if strings.HasPrefix(flag, "relay") {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Errorf("port %d (%s) still held after the demo: %v", port, flag, err)
			continue
		}
		_ = ln.Close()
	}
	for p := demoPorts["relay-min"]; p <= demoPorts["relay-max"]; p++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("relay port %d still held after the demo: %v", p, err)
			continue
		}
		_ = pc.Close()
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dir)) {
			t.Errorf("a process still runs from %s: %s", dir, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}
