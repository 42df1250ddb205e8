package xmpp

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

const (
	testDomain = "sip.example.test"
	testSecret = "sipsecret"
	waitLong   = 5 * time.Second // only ever reached when a test fails
)

// fakeServer is an XEP-0114 server on loopback TCP. It checks the
// handshake hash and hands every connection to the test through conns.
type fakeServer struct {
	t  testing.TB
	ln net.Listener

	// Behaviour; set before the link starts.
	answer  func(n int) string // reply to a correct handshake on the nth connection; default <handshake/>
	noRead  bool               // stop reading after the handshake (backpressure)
	discard bool               // read and discard everything after the handshake (benchmarks)

	conns chan *srvConn
	quit  chan struct{}
	mu    sync.Mutex
	open  []net.Conn
	wg    sync.WaitGroup
	n     int
}

// srvConn is the server side of one component connection.
type srvConn struct {
	n        int
	nc       net.Conn
	id       string
	hashOK   bool
	accepted time.Time
	events   chan srvEvent // what the component wrote after the handshake; closed at EOF
	quit     chan struct{}
}

// srvEvent is one top-level item written by the component.
type srvEvent struct {
	st        *stanza.Stanza
	streamErr string // condition of a <stream:error/>
	ws        bool   // whitespace keepalive
	end       bool   // </stream:stream>
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	return newFakeServerBuf(t, 0)
}

// newFakeServerBuf makes a server whose sockets have a receive buffer of
// rcvBuf bytes (0: the system default). A small one makes a server that
// stops reading push back on the component within a few kilobytes.
func newFakeServerBuf(t testing.TB, rcvBuf int) *fakeServer {
	t.Helper()
	lc := net.ListenConfig{}
	if rcvBuf > 0 {
		lc.Control = sockBuf(syscall.SO_RCVBUF, rcvBuf)
	}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	fs := &fakeServer{t: t, ln: ln, conns: make(chan *srvConn, 64), quit: make(chan struct{})}
	fs.wg.Go(fs.acceptLoop)
	t.Cleanup(fs.close)
	return fs
}

// sockBuf returns a Control hook that sets a socket buffer size; set on a
// listener it is inherited by accepted sockets and sized into the window.
func sockBuf(opt, size int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, size)
		})
		return errors.Join(err, serr)
	}
}

func (fs *fakeServer) addr() string { return fs.ln.Addr().String() }

func (fs *fakeServer) close() {
	close(fs.quit)
	_ = fs.ln.Close()
	fs.mu.Lock()
	for _, c := range fs.open {
		_ = c.Close()
	}
	fs.mu.Unlock()
	fs.wg.Wait()
}

func (fs *fakeServer) acceptLoop() {
	for {
		nc, err := fs.ln.Accept()
		if err != nil {
			return
		}
		fs.mu.Lock()
		fs.open = append(fs.open, nc)
		fs.n++
		n := fs.n
		fs.mu.Unlock()
		fs.wg.Go(func() { fs.handle(nc, n) })
	}
}

// handle runs the server half of the handshake, then reads the component's
// stanzas into events.
func (fs *fakeServer) handle(nc net.Conn, n int) {
	sc := &srvConn{n: n, nc: nc, id: fmt.Sprintf("stream-%d'&", n), accepted: time.Now(),
		events: make(chan srvEvent, 4096), quit: fs.quit}
	dec := xml.NewDecoder(nc)
	start, err := srvNextStart(dec)
	if err != nil || start.Name.Space != stanza.NSStream || start.Name.Local != "stream" || srvAttr(start, "to") != testDomain {
		fs.t.Errorf("server: bad client stream header %v: %v", start.Name, err)
		_ = nc.Close()
		return
	}
	// The id carries characters that need escaping, so the hash test also
	// proves the client unescapes it.
	_, _ = io.WriteString(nc, `<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='`+testDomain+`' id='stream-`+fmt.Sprint(n)+`&apos;&amp;'>`)
	start, err = srvNextStart(dec)
	var token string
	if err == nil {
		err = dec.DecodeElement(&token, &start)
	}
	if err != nil {
		_ = nc.Close()
		return
	}
	sum := sha1.Sum([]byte(sc.id + testSecret))
	sc.hashOK = token == hex.EncodeToString(sum[:])
	reply := "<handshake/>"
	switch {
	case !sc.hashOK:
		reply = `<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Given token does not match calculated token</text></stream:error></stream:stream>`
	case fs.answer != nil:
		reply = fs.answer(n)
	}
	_, _ = io.WriteString(nc, reply)
	fs.conns <- sc
	switch {
	case reply != "<handshake/>":
		_ = nc.Close()
		close(sc.events)
	case fs.noRead:
		close(sc.events)
	case fs.discard:
		_, _ = io.Copy(io.Discard, nc)
		close(sc.events)
	default:
		sc.readLoop(dec)
	}
}

func (sc *srvConn) readLoop(dec *xml.Decoder) {
	defer close(sc.events)
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		var ev srvEvent
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == stanza.NSStream && t.Name.Local == "error" {
				var w wireStreamError
				if dec.DecodeElement(&w, &t) != nil {
					return
				}
				for _, c := range w.Inner {
					if c.XMLName.Space == nsStreams && c.XMLName.Local != "text" {
						ev.streamErr = c.XMLName.Local
					}
				}
				break
			}
			ev.st = new(stanza.Stanza)
			if dec.DecodeElement(ev.st, &t) != nil {
				return
			}
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				continue
			}
			ev.ws = true
		case xml.EndElement:
			// Answer the close like Prosody does, then let EOF end us.
			_, _ = io.WriteString(sc.nc, "</stream:stream>")
			ev.end = true
		default:
			continue
		}
		select {
		case sc.events <- ev:
		case <-sc.quit:
			return
		}
	}
}

func srvNextStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s, nil
		}
	}
}

func srvAttr(s xml.StartElement, local string) string {
	for _, a := range s.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// nextConn waits for the next connection the server handled.
func (fs *fakeServer) nextConn(t testing.TB) *srvConn {
	t.Helper()
	select {
	case sc := <-fs.conns:
		return sc
	case <-time.After(waitLong):
		t.Fatal("timed out waiting for a connection")
		return nil
	}
}

func (sc *srvConn) send(t testing.TB, raw string) {
	t.Helper()
	if _, err := io.WriteString(sc.nc, raw); err != nil {
		t.Fatalf("server write: %v", err)
	}
}

// next returns the next event that is not whitespace.
func (sc *srvConn) next(t testing.TB) srvEvent {
	t.Helper()
	for {
		select {
		case ev, ok := <-sc.events:
			if !ok {
				t.Fatal("server: connection ended while waiting for an event")
			}
			if ev.ws {
				continue
			}
			return ev
		case <-time.After(waitLong):
			t.Fatal("timed out waiting for the component to write")
		}
	}
}

func (sc *srvConn) nextStanza(t testing.TB) *stanza.Stanza {
	t.Helper()
	ev := sc.next(t)
	if ev.st == nil {
		t.Fatalf("server: expected a stanza, got %+v", ev)
	}
	return ev.st
}

// waitEOF waits until the component closed the socket.
func (sc *srvConn) waitEOF(t testing.TB) {
	t.Helper()
	timeout := time.After(waitLong)
	for {
		select {
		case _, ok := <-sc.events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("timed out waiting for the component to close")
		}
	}
}

// harness runs a Link against a fakeServer and records its callbacks.
type harness struct {
	fs   *fakeServer
	link *Link

	handled      chan *stanza.Stanza
	tap          func(*stanza.Stanza) // if set (before start), called instead of recording
	connected    chan context.Context
	disconnected chan error
	connErrs     chan error

	cancel  context.CancelFunc
	runDone chan error
}

// newHarness builds a Link with test-friendly defaults; mutate adjusts them.
func newHarness(t testing.TB, fs *fakeServer, mutate func(*Config)) *harness {
	t.Helper()
	h := newHarnessAt(t, fs.addr(), func(c *Config) {
		c.Domain, c.Secret = testDomain, testSecret
		if mutate != nil {
			mutate(c)
		}
	})
	h.fs = fs
	return h
}

// newHarnessAt builds a Link to addr with test-friendly timings and the
// callbacks recorded; mutate sets the rest (component or client identity).
func newHarnessAt(t testing.TB, addr string, mutate func(*Config)) *harness {
	t.Helper()
	h := &harness{
		handled:      make(chan *stanza.Stanza, 1024),
		connected:    make(chan context.Context, 16),
		disconnected: make(chan error, 16),
		connErrs:     make(chan error, 16),
	}
	cfg := Config{
		Addr:       addr,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		IQTimeout: 2 * time.Second, KeepAlive: -1,
		OnConnect:    func(ctx context.Context) { h.connected <- ctx },
		OnDisconnect: func(err error) { h.disconnected <- err },
		OnConnectError: func(err error) {
			select { // a link retrying fast must not block on an unread channel
			case h.connErrs <- err:
			default:
			}
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	handler := HandlerFunc(func(_ context.Context, s *stanza.Stanza) {
		if h.tap != nil {
			h.tap(s)
			return
		}
		select {
		case h.handled <- s:
		default:
		}
	})
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	l, err := NewLink(cfg, handler, log)
	if err != nil {
		t.Fatalf("NewLink: %v", err)
	}
	l.closeWait = 200 * time.Millisecond
	h.link = l
	return h
}

// start runs the link until the test ends.
func (h *harness) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.runDone = make(chan error, 1)
	go func() { h.runDone <- h.link.Run(ctx) }()
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

// stop cancels Run and waits for it; safe to call twice.
func (h *harness) stop() error {
	h.cancel()
	select {
	case err, ok := <-h.runDone:
		if ok {
			close(h.runDone)
		}
		return err
	case <-time.After(waitLong):
		return errors.New("Run did not return")
	}
}

func (h *harness) waitConnected(t testing.TB) context.Context {
	t.Helper()
	select {
	case ctx := <-h.connected:
		return ctx
	case <-time.After(waitLong):
		t.Fatal("timed out waiting for OnConnect")
		return nil
	}
}

func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLong):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// msg builds an outbound message from the component.
func msg(from, to, body string) *stanza.Stanza {
	return &stanza.Stanza{XMLName: xml.Name{Local: "message"}, Type: "chat", From: from, To: to,
		Payload: []byte("<body>" + body + "</body>")}
}
