package echo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"fargo.dev/fargo/internal/leakcheck"
	"fargo.dev/fargo/internal/sip"
)

// Ports 24600–24699 belong to this package's tests: echo on 246x0, the
// caller on 246x1.

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m, 10*time.Second)) }

// startEcho runs a Service on port until the test ends; stop ends it
// earlier and waits for Run.
func startEcho(t *testing.T, port int, cfg Config) (svc *Service, stop func()) {
	t.Helper()
	cfg.Listen = "127.0.0.1:" + strconv.Itoa(port)
	svc, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("echo Run: %v", err)
		}
	}
	t.Cleanup(stop)
	select {
	case <-svc.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("echo not ready")
	}
	return svc, stop
}

// caller is a SIP user agent placing calls to the echo.
type caller struct {
	ua   *sip.UA
	echo string // the echo's host:port
}

func startCaller(t *testing.T, port int, echoAddr netip.AddrPort) *caller {
	t.Helper()
	ua, err := sip.NewUA(sip.Config{ListenAddr: "127.0.0.1:" + strconv.Itoa(port)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ua.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &caller{ua: ua, echo: echoAddr.String()}
}

// events collects a call's events.
type events chan sip.Event

func (h events) CallEvent(_ *sip.Call, e sip.Event) { h <- e }
func (h events) Offer(context.Context, *sip.Call, []byte) ([]byte, error) {
	return nil, &sip.StatusError{Code: 488, Reason: "Not Acceptable Here"}
}

// invite calls user at the echo with offer.
func (c *caller) invite(t *testing.T, user string, offer string) (*sip.Call, events) {
	t.Helper()
	ev := make(events, 16)
	call, err := c.ua.Invite(ctxT(t, 5*time.Second), sip.InviteRequest{
		Account: sip.Account{AOR: "tester@127.0.0.1", Registrar: c.echo, ContactToken: "tester"},
		Target:  "sip:" + user + "@" + c.echo,
		SDP:     []byte(offer),
		Handler: ev,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = call.Hangup(context.Background(), ""); call.Close() })
	return call, ev
}

// await waits for an event of kind, skipping progress events.
func (h events) await(t *testing.T, kind sip.EventKind, within time.Duration) sip.Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-h:
			if e.Kind == kind {
				return e
			}
			if e.Kind != sip.EventProgress && e.Kind != sip.EventInfo {
				t.Fatalf("event %v (%d %s, warning %q), want %v", e.Kind, e.Status, e.Reason, e.Warning, kind)
			}
		case <-deadline:
			t.Fatalf("no %v event within %v", kind, within)
		}
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// offerSDP is an audio offer from 127.0.0.1:port; version must grow with
// each new offer of a call.
func offerSDP(port, version int, proto, fmts string, attrs ...string) string {
	s := fmt.Sprintf("v=0\r\no=tester 42 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d %s %s\r\n",
		version, port, proto, fmts)
	for _, a := range attrs {
		s += "a=" + a + "\r\n"
	}
	return s
}

// answerPort reads the audio port of an SDP answer.
func answerPort(t *testing.T, body []byte) int {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 {
			return md.MediaName.Port.Value
		}
	}
	t.Fatalf("no audio in answer %q", body)
	return 0
}

// rtpSock is the caller's RTP socket.
func rtpSock(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sockPort(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

type pkt struct {
	pt      uint8
	marker  bool
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

func (p pkt) bytes() []byte {
	b := make([]byte, 12, 12+len(p.payload))
	b[0] = 0x80
	b[1] = p.pt
	if p.marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], p.seq)
	binary.BigEndian.PutUint32(b[4:], p.ts)
	binary.BigEndian.PutUint32(b[8:], p.ssrc)
	return append(b, p.payload...)
}

func parsePkt(b []byte) pkt {
	return pkt{pt: b[1] & 0x7f, marker: b[1]&0x80 != 0, seq: binary.BigEndian.Uint16(b[2:]),
		ts: binary.BigEndian.Uint32(b[4:]), ssrc: binary.BigEndian.Uint32(b[8:]), payload: append([]byte(nil), b[12:]...)}
}

// recv reads one packet within d; ok false on timeout.
func recv(t *testing.T, c *net.UDPConn, d time.Duration) (pkt, netip.AddrPort, bool) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return pkt{}, from, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return parsePkt(buf[:n]), from, true
}

func send(t *testing.T, c *net.UDPConn, to int, p pkt) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(p.bytes(), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(to))); err != nil {
		t.Fatal(err)
	}
}

// waitIdle waits until the echo has released every call.
func waitIdle(t *testing.T, svc *Service) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for svc.Stats().Active != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("calls still active: %+v", svc.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
