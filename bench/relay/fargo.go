package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fargoTarget is internal/media in a child process: this same executable
// started with roleEnv set (see relayd), driven over its control protocol.
type fargoTarget struct {
	proc  *child
	stdin io.WriteCloser
	conn  net.Conn
	rd    *bufio.Reader
	ids   []string // session id per call index
}

type fargoOptions struct {
	exe        string // the binary to run as relayd; "" for os.Executable()
	ports      string // MIN-MAX
	calls      int
	cpuProfile string
	workDir    string
}

func startFargo(ctx context.Context, o fargoOptions) (*fargoTarget, error) {
	exe := o.exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("fargo relay: own executable: %w", err)
		}
	}
	args := []string{"-ports", o.ports, "-max", strconv.Itoa(o.calls)}
	if o.cpuProfile != "" {
		args = append(args, "-cpuprofile", o.cpuProfile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), roleEnv+"=relayd")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("fargo relay: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("fargo relay: %w", err)
	}
	p, err := startChild("fargo relay", cmd, filepath.Join(o.workDir, "fargo-relay.log"))
	if err != nil {
		return nil, err
	}
	t := &fargoTarget{proc: p, stdin: stdin, ids: make([]string, o.calls)}
	addr, err := readReady(ctx, stdout)
	if err != nil {
		_ = t.stop()
		return nil, p.wrap(fmt.Errorf("fargo relay did not start: %w", err))
	}
	var d net.Dialer
	if t.conn, err = d.DialContext(ctx, "tcp", addr); err != nil {
		_ = t.stop()
		return nil, p.wrap(fmt.Errorf("fargo relay control: %w", err))
	}
	t.rd = bufio.NewReader(t.conn)
	return t, nil
}

// readReady waits for relayd's "ready ADDR" line.
func readReady(ctx context.Context, stdout io.Reader) (string, error) {
	type line struct {
		s   string
		err error
	}
	ch := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(stdout).ReadString('\n')
		ch <- line{s, err}
		// Keep draining so a chatty child never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case l := <-ch:
		if l.err != nil {
			return "", fmt.Errorf("reading its announcement: %w", l.err)
		}
		addr, ok := strings.CutPrefix(strings.TrimSpace(l.s), "ready ")
		if !ok {
			return "", fmt.Errorf("unexpected announcement %q", l.s)
		}
		return addr, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no announcement: %w", ctx.Err())
	}
}

func (t *fargoTarget) name() string { return "fargo" }
func (t *fargoTarget) pid() int     { return t.proc.pid() }

// call sends one request and returns the fields of its "ok" reply.
func (t *fargoTarget) call(ctx context.Context, req string) ([]string, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = t.conn.SetDeadline(dl)
	} else {
		_ = t.conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if _, err := io.WriteString(t.conn, req+"\n"); err != nil {
		return nil, t.proc.wrap(fmt.Errorf("fargo relay %q: %w", req, err))
	}
	reply, err := t.rd.ReadString('\n')
	if err != nil {
		return nil, t.proc.wrap(fmt.Errorf("fargo relay %q: %w", req, err))
	}
	f := strings.Fields(reply)
	if len(f) == 0 || f[0] != "ok" {
		return nil, fmt.Errorf("fargo relay %q: %s", req, strings.TrimSpace(reply))
	}
	return f[1:], nil
}

func (t *fargoTarget) open(ctx context.Context, i int, caller, callee netip.AddrPort) (netip.AddrPort, netip.AddrPort, error) {
	f, err := t.call(ctx, "open")
	if err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, err
	}
	if len(f) != 3 {
		return netip.AddrPort{}, netip.AddrPort{}, fmt.Errorf("fargo relay open: reply %q", f)
	}
	sipLeg, err1 := netip.ParseAddrPort(f[1])
	xmppLeg, err2 := netip.ParseAddrPort(f[2])
	if err1 != nil || err2 != nil {
		return netip.AddrPort{}, netip.AddrPort{}, fmt.Errorf("fargo relay open: reply %q", f)
	}
	t.ids[i] = f[0]
	// The caller plays the SIP phone, the callee the XMPP client.
	if _, err := t.call(ctx, fmt.Sprintf("remote %s %s %s", f[0], caller, callee)); err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, err
	}
	return sipLeg, xmppLeg, nil
}

func (t *fargoTarget) relayed(ctx context.Context) (uint64, bool) {
	f, err := t.call(ctx, "stats")
	if err != nil || len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(f[0], "packets="), 10, 64)
	return n, err == nil
}

func (t *fargoTarget) window(ctx context.Context, start bool) error {
	what := "stop"
	if start {
		what = "start"
	}
	_, err := t.call(ctx, "profile "+what)
	return err
}

func (t *fargoTarget) closeCall(ctx context.Context, i int) error {
	if t.ids[i] == "" {
		return nil
	}
	_, err := t.call(ctx, "close "+t.ids[i])
	t.ids[i] = ""
	return err
}

// stop closes the relay's standard input, on which it ends every session
// and exits.
func (t *fargoTarget) stop() error {
	if t.conn != nil {
		_ = t.conn.Close()
	}
	return t.proc.stop(func() { _ = t.stdin.Close() }, 10*time.Second)
}
