package main

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
	"strconv"
	"time"
)

// rtpengineTarget is Debian's rtpengine-daemon, userspace only, driven
// over its ng control protocol: the reference relay.
type rtpengineTarget struct {
	proc *child
	ng   *ngClient
}

type rtpengineOptions struct {
	bin     string // rtpengine executable
	ports   string // MIN-MAX for its media ports
	ngPort  int    // UDP control port on 127.0.0.1
	threads int
	workDir string
}

func startRtpengine(ctx context.Context, o rtpengineOptions) (*rtpengineTarget, error) {
	lo, hi, err := parseRange(o.ports)
	if err != nil {
		return nil, err
	}
	ng := fmt.Sprintf("127.0.0.1:%d", o.ngPort)
	args := []string{
		// No config file: /etc/rtpengine/rtpengine.conf would add listeners
		// on fixed ports and a kernel table.
		"--config-file=none",
		"--foreground",
		// Userspace forwarding only: no xt_RTPENGINE kernel module is
		// loaded or used, so every packet goes through the daemon like
		// through fargo's relay.
		"--table=-1",
		"--interface=127.0.0.1",
		"--listen-ng=" + ng,
		"--port-min=" + strconv.Itoa(int(lo)),
		"--port-max=" + strconv.Itoa(int(hi)),
		"--num-threads=" + strconv.Itoa(o.threads),
		"--timeout=3600", "--silent-timeout=3600", "--delete-delay=0",
		"--log-stderr", "--log-level=5",
	}
	cmd := exec.Command(o.bin, args...)
	p, err := startChild("rtpengine", cmd, filepath.Join(o.workDir, "rtpengine.log"))
	if err != nil {
		return nil, err
	}
	t := &rtpengineTarget{proc: p}
	raddr, _ := net.ResolveUDPAddr("udp4", ng)
	conn, err := net.DialUDP("udp4", nil, raddr)
	if err != nil {
		_ = t.stop()
		return nil, fmt.Errorf("rtpengine ng socket: %w", err)
	}
	t.ng = &ngClient{conn: conn, prefix: fmt.Sprintf("%d_", os.Getpid())}
	// It binds the ng port after its startup work: ping until it answers.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := t.ng.do(ctx, map[string]any{"command": "ping"}, 300*time.Millisecond, 1)
		if err == nil {
			return t, nil
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			_ = t.stop()
			return nil, p.wrap(fmt.Errorf("rtpengine did not answer ping on %s: %w", ng, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (t *rtpengineTarget) name() string { return "rtpengine" }
func (t *rtpengineTarget) pid() int     { return t.proc.pid() }

func callID(i int) string { return fmt.Sprintf("relay-bench-%d", i) }

// open is an offer from the caller and an answer from the callee. The SDP
// rtpengine returns from the offer is what the callee is given (so the
// callee sends there); the one returned from the answer is what the
// caller is given.
func (t *rtpengineTarget) open(ctx context.Context, i int, caller, callee netip.AddrPort) (netip.AddrPort, netip.AddrPort, error) {
	offer, err := t.ng.do(ctx, map[string]any{
		"command":  "offer",
		"call-id":  callID(i),
		"from-tag": fmt.Sprintf("caller-%d", i),
		"sdp":      offerSDP(2*i+1, caller),
		"ICE":      "remove",
	}, 2*time.Second, 3)
	if err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, t.proc.wrap(fmt.Errorf("rtpengine offer: %w", err))
	}
	calleeDst, err := replySDPAddr(offer)
	if err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, fmt.Errorf("rtpengine offer: %w", err)
	}
	answer, err := t.ng.do(ctx, map[string]any{
		"command":  "answer",
		"call-id":  callID(i),
		"from-tag": fmt.Sprintf("caller-%d", i),
		"to-tag":   fmt.Sprintf("callee-%d", i),
		"sdp":      offerSDP(2*i+2, callee),
		"ICE":      "remove",
	}, 2*time.Second, 3)
	if err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, t.proc.wrap(fmt.Errorf("rtpengine answer: %w", err))
	}
	callerDst, err := replySDPAddr(answer)
	if err != nil {
		return netip.AddrPort{}, netip.AddrPort{}, fmt.Errorf("rtpengine answer: %w", err)
	}
	return callerDst, calleeDst, nil
}

func replySDPAddr(reply map[string]any) (netip.AddrPort, error) {
	sdp, ok := reply["sdp"].(string)
	if !ok {
		return netip.AddrPort{}, errors.New("reply without sdp")
	}
	return audioAddr(sdp)
}

func (t *rtpengineTarget) relayed(context.Context) (relayCount, bool) { return relayCount{}, false }
func (t *rtpengineTarget) window(context.Context, bool) error         { return nil }

func (t *rtpengineTarget) closeCall(ctx context.Context, i int) error {
	_, err := t.ng.do(ctx, map[string]any{
		"command":  "delete",
		"call-id":  callID(i),
		"from-tag": fmt.Sprintf("caller-%d", i),
	}, 2*time.Second, 2)
	return err
}

func (t *rtpengineTarget) stop() error {
	if t.ng != nil {
		_ = t.ng.conn.Close()
	}
	return t.proc.stop(nil, 10*time.Second)
}

// ngClient speaks rtpengine's ng protocol: a datagram "COOKIE BENCODE",
// answered with the same cookie. A retry reuses the cookie, so rtpengine
// answers a repeated command from its cache instead of running it twice.
type ngClient struct {
	conn   *net.UDPConn
	prefix string
	n      int
	buf    [65536]byte
}

var errNG = errors.New("ng")

func (c *ngClient) do(ctx context.Context, req map[string]any, timeout time.Duration, tries int) (map[string]any, error) {
	c.n++
	cookie := c.prefix + strconv.Itoa(c.n)
	msg, err := bencode([]byte(cookie+" "), req)
	if err != nil {
		return nil, err
	}
	var last error
	for try := 0; try < tries; try++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := c.conn.Write(msg); err != nil {
			last = fmt.Errorf("send: %w", err)
			time.Sleep(timeout / 4) // ECONNREFUSED while it starts
			continue
		}
		reply, err := c.read(cookie, time.Now().Add(timeout))
		if err != nil {
			last = err
			continue
		}
		return checkNGResult(req["command"], reply)
	}
	return nil, last
}

// read waits for the reply carrying cookie, skipping late replies to
// earlier tries.
func (c *ngClient) read(cookie string, deadline time.Time) (map[string]any, error) {
	if err := c.conn.SetReadDeadline(deadline); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	for {
		n, err := c.conn.Read(c.buf[:])
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		got, body, ok := bytes.Cut(c.buf[:n], []byte(" "))
		if !ok || string(got) != cookie {
			continue
		}
		v, err := bdecode(body)
		if err != nil {
			return nil, fmt.Errorf("%w: reply: %w", errNG, err)
		}
		d, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: reply is a %T, not a dictionary", errNG, v)
		}
		return d, nil
	}
}

func checkNGResult(cmd any, reply map[string]any) (map[string]any, error) {
	result, _ := reply["result"].(string)
	switch {
	case result == "ok", cmd == "ping" && result == "pong":
		return reply, nil
	case result == "error":
		reason, _ := reply["error-reason"].(string)
		return nil, fmt.Errorf("%w: %v: %s", errNG, cmd, reason)
	default:
		return nil, fmt.Errorf("%w: %v: result %q", errNG, cmd, result)
	}
}
