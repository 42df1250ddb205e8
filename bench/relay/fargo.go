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
// Target "fargo" is the userspace relay (media.KernelOff); "fargo-kernel"
// is the same process started with -kernel (media.KernelOn: the in-kernel
// fast path forwards plain RTP between latched peers, and the relay fails
// to start rather than fall back to userspace when it cannot load it).
type fargoTarget struct {
	label string // target name: "fargo" or "fargo-kernel"
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
	// kernel requires the in-kernel fast path (relayd -kernel): target
	// "fargo-kernel" instead of "fargo".
	kernel bool
	// learnWindow is the relay's LearnWindow (relayd -learn-window), 0
	// for its default.
	learnWindow time.Duration
}

// kernelNeeds is what the in-kernel fast path asks of the relay process,
// for error messages.
const kernelNeeds = "the in-kernel fast path needs root (or CAP_BPF+CAP_NET_ADMIN) and Linux ≥ 6.6"

func (o fargoOptions) label() string {
	if o.kernel {
		return "fargo-kernel"
	}
	return "fargo"
}

func startFargo(ctx context.Context, o fargoOptions) (*fargoTarget, error) {
	label := o.label()
	what := label + " relay"
	exe := o.exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%s: own executable: %w", what, err)
		}
	}
	args := []string{"-ports", o.ports, "-max", strconv.Itoa(o.calls)}
	if o.kernel {
		args = append(args, "-kernel")
	}
	if o.learnWindow > 0 {
		args = append(args, "-learn-window", o.learnWindow.String())
	}
	if o.cpuProfile != "" {
		args = append(args, "-cpuprofile", o.cpuProfile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), roleEnv+"=relayd")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	p, err := startChild(what, cmd, filepath.Join(o.workDir, label+"-relay.log"))
	if err != nil {
		return nil, err
	}
	t := &fargoTarget{label: label, proc: p, stdin: stdin, ids: make([]string, o.calls)}
	addr, err := readReady(ctx, stdout)
	if err != nil {
		_ = t.stop()
		err = fmt.Errorf("%s did not start: %w", what, err)
		if o.kernel {
			// NewRelay's own error is in the log tail that wrap adds.
			err = fmt.Errorf("%w (%s; it does not fall back to userspace)", err, kernelNeeds)
		}
		return nil, p.wrap(err)
	}
	var d net.Dialer
	if t.conn, err = d.DialContext(ctx, "tcp", addr); err != nil {
		_ = t.stop()
		return nil, p.wrap(fmt.Errorf("%s control: %w", what, err))
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

func (t *fargoTarget) name() string { return t.label }
func (t *fargoTarget) pid() int     { return t.proc.pid() }

// call sends one request and returns the fields of its "ok" reply.
func (t *fargoTarget) call(ctx context.Context, req string) ([]string, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = t.conn.SetDeadline(dl)
	} else {
		_ = t.conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if _, err := io.WriteString(t.conn, req+"\n"); err != nil {
		return nil, t.proc.wrap(fmt.Errorf("%s relay %q: %w", t.label, req, err))
	}
	reply, err := t.rd.ReadString('\n')
	if err != nil {
		return nil, t.proc.wrap(fmt.Errorf("%s relay %q: %w", t.label, req, err))
	}
	f := strings.Fields(reply)
	if len(f) == 0 || f[0] != "ok" {
		return nil, fmt.Errorf("%s relay %q: %s", t.label, req, strings.TrimSpace(reply))
	}
	return f[1:], nil
}

func (t *fargoTarget) open(ctx context.Context, i int, caller, callee netip.AddrPort) (netip.AddrPort, netip.AddrPort, error) {
	f, err := t.call(ctx, "open")
	if err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, err
	}
	if len(f) != 3 {
		return netip.AddrPort{}, netip.AddrPort{}, fmt.Errorf("%s relay open: reply %q", t.label, f)
	}
	sipLeg, err1 := netip.ParseAddrPort(f[1])
	xmppLeg, err2 := netip.ParseAddrPort(f[2])
	if err1 != nil || err2 != nil {
		return netip.AddrPort{}, netip.AddrPort{}, fmt.Errorf("%s relay open: reply %q", t.label, f)
	}
	t.ids[i] = f[0]
	// The caller plays the SIP phone, the callee the XMPP client.
	if _, err := t.call(ctx, fmt.Sprintf("remote %s %s %s", f[0], caller, callee)); err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, err
	}
	return sipLeg, xmppLeg, nil
}

// relayed reads the relay's "stats" reply: packets= and kernel= (the
// fast path's share), by key.
func (t *fargoTarget) relayed(ctx context.Context) (relayCount, bool) {
	f, err := t.call(ctx, "stats")
	if err != nil {
		return relayCount{}, false
	}
	var c relayCount
	hasPackets := false
	for _, kv := range f {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "packets":
			c.packets, err = strconv.ParseUint(v, 10, 64)
			hasPackets = err == nil
		case "kernel":
			c.kernel, err = strconv.ParseUint(v, 10, 64)
			c.hasKernel = err == nil
		}
	}
	return c, hasPackets
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
