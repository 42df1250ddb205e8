package testkit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// fakeServer is a scripted c2s server on an ephemeral loopback port: enough
// XMPP (PLAIN, bind, session) to exercise the Client without a real server.
type fakeServer struct {
	t     *testing.T
	ln    net.Listener
	conns chan *fakeConn
}

type fakeConn struct {
	t    *testing.T
	conn net.Conn
	dec  *xml.Decoder
}

// element is one top-level element read by the fake server; end marks
// </stream:stream>.
type element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   string     `xml:",innerxml"`
	end     bool
	err     error // why the stream ended, if it was not </stream:stream>
}

func (e *element) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, conns: make(chan *fakeConn, 1)}
	go s.accept()
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

func (s *fakeServer) accept() {
	conn, err := s.ln.Accept()
	if err != nil {
		return
	}
	fc := &fakeConn{t: s.t, conn: conn, dec: xml.NewDecoder(bufio.NewReader(conn))}
	s.t.Cleanup(func() { _ = conn.Close() })
	if fc.handshake() {
		s.conns <- fc
	} else {
		close(s.conns)
	}
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

// conn waits for the logged-in connection.
func (s *fakeServer) conn() *fakeConn {
	s.t.Helper()
	select {
	case c, ok := <-s.conns:
		if !ok {
			s.t.Fatal("fake server: handshake failed")
		}
		return c
	case <-time.After(5 * time.Second):
		s.t.Fatal("fake server: no client logged in")
		return nil
	}
}

// handshake plays the server side of login; false if the client failed auth.
func (c *fakeConn) handshake() bool {
	c.readHeader()
	c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.test' version='1.0'>` +
		`<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`)
	auth := c.next()
	creds, _ := base64.StdEncoding.DecodeString(auth.Inner)
	if string(creds) != "\x00alice\x00secret" {
		c.send(`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>bad password</text></failure></stream:stream>`)
		_ = c.conn.Close()
		return false
	}
	c.send(`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`)
	c.dec = xml.NewDecoder(bufio.NewReader(c.conn)) // safe: the client waits for our header
	c.readHeader()
	c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s2' from='example.test' version='1.0'>` +
		`<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>`)
	bind := c.next()
	if !strings.Contains(bind.Inner, "<resource>phone</resource>") {
		c.t.Errorf("bind request %q does not ask for resource phone", bind.Inner)
	}
	c.send(`<iq type='result' id='` + bind.attr("id") + `'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.test/phone</jid></bind></iq>`)
	sess := c.next()
	if !strings.Contains(sess.Inner, "xmpp-session") {
		c.t.Errorf("expected a session request, got %q", sess.Inner)
	}
	c.send(`<iq type='result' id='` + sess.attr("id") + `'/>`)
	roster := c.next()
	if !strings.Contains(roster.Inner, "jabber:iq:roster") || roster.attr("type") != "get" {
		c.t.Errorf("expected a roster get, got %+v", roster)
	}
	// a push racing the login's roster result must be answered and queued too
	c.send(`<iq type='set' id='early-push'><query xmlns='jabber:iq:roster'><item jid='carol@example.test'/></query></iq>`)
	c.send(`<iq type='result' id='` + roster.attr("id") + `'><query xmlns='jabber:iq:roster'/></iq>`)
	if e := c.next(); e.attr("id") != "early-push" || e.attr("type") != "result" {
		c.t.Errorf("early roster push answered with %+v", e)
	}
	return true
}

func (c *fakeConn) readHeader() {
	for {
		tok, err := c.dec.Token()
		if err != nil {
			c.t.Errorf("fake server: read header: %v", err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			return
		}
	}
}

// send writes s; a client that went away is the tests' business, not an error here.
func (c *fakeConn) send(s string) { _, _ = io.WriteString(c.conn, s) }

// answerClose plays a polite server for the Close in the test's cleanup:
// it discards everything up to </stream:stream> and answers it.
func (c *fakeConn) answerClose() {
	go func() {
		for e := c.next(); !e.end; e = c.next() {
		}
		c.send(`</stream:stream>`)
		_ = c.conn.Close()
	}()
}

// next reads the next top-level element (or the stream's end).
func (c *fakeConn) next() *element {
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return &element{end: true, err: err} // the client went away: tests check outcomes
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var e element
			if err := c.dec.DecodeElement(&e, &t); err != nil {
				c.t.Errorf("fake server: decode: %v", err)
			}
			return &e
		case xml.EndElement:
			return &element{end: true}
		}
	}
}

func dialFake(t *testing.T, s *fakeServer, opts ...Option) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, s.addr(), "alice@example.test", "secret", append([]Option{Resource("phone"), Logf(t.Logf)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func isMessage(body string) func(*stanza.Stanza) bool {
	return func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && strings.Contains(string(s.Payload), "<body>"+body+"</body>")
	}
}

func TestClientAutoAnswersAndExpect(t *testing.T) {
	srv := newFakeServer(t)
	c := dialFake(t, srv, AutoSubscribe("sip.example.test"))
	sc := srv.conn()
	if c.JID() != "alice@example.test/phone" {
		t.Fatalf("JID() = %q", c.JID())
	}

	// received before anyone waits: Expect must still find it
	sc.send(`<message from='bob@example.test/x' type='chat'><body>early</body></message>`)

	sc.send(`<iq type='set' id='push1'><query xmlns='jabber:iq:roster'><item jid='bob@example.test'/></query></iq>`)
	if e := sc.next(); e.XMLName.Local != "iq" || e.attr("type") != "result" || e.attr("id") != "push1" {
		t.Fatalf("roster push answer = %+v, want iq result push1", e)
	}

	sc.send(`<presence from='+15550001@sip.example.test' type='subscribe'/>`)
	if e := sc.next(); e.XMLName.Local != "presence" || e.attr("type") != "subscribed" || e.attr("to") != "+15550001@sip.example.test" {
		t.Fatalf("subscription answer = %+v, want subscribed to +15550001@sip.example.test", e)
	}

	// not from the auto-approved domain: no answer, so the next thing the
	// server reads is the reply to its ping
	sc.send(`<presence from='mallory@evil.test' type='subscribe'/>`)
	sc.send(`<iq type='get' id='ping1' from='example.test'><ping xmlns='urn:xmpp:ping'/></iq>`)
	ping, err := c.Expect(withTimeout(t), func(s *stanza.Stanza) bool { return s.ID == "ping1" })
	if err != nil {
		t.Fatal(err)
	}
	res, _ := stanza.Result(ping)
	if err := c.Send(res); err != nil {
		t.Fatal(err)
	}
	if e := sc.next(); e.XMLName.Local != "iq" || e.attr("id") != "ping1" || e.attr("type") != "result" {
		t.Fatalf("server read %+v, want the ping result (a foreign subscribe must not be approved)", e)
	}

	if _, err := c.Expect(withTimeout(t), isMessage("early")); err != nil {
		t.Fatal(err)
	}
	// consumed: a second Expect must not see it again
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Expect(ctx, isMessage("early")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Expect of a consumed stanza: err = %v, want deadline exceeded", err)
	}
	// the auto-answered stanzas stay visible to tests
	for _, want := range []string{"early-push", "push1"} {
		if _, err := c.Expect(withTimeout(t), func(s *stanza.Stanza) bool { return s.ID == want }); err != nil {
			t.Fatalf("roster push not queued: %v", err)
		}
	}
	if _, err := c.Expect(withTimeout(t), func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "subscribe" && s.From == "mallory@evil.test"
	}); err != nil {
		t.Fatal(err)
	}
	sc.answerClose()
}

func TestClientSendIQ(t *testing.T) {
	srv := newFakeServer(t)
	c := dialFake(t, srv)
	sc := srv.conn()
	go func() {
		for i := 0; i < 2; i++ {
			e := sc.next()
			if e.end {
				return
			}
			if i == 0 {
				sc.send(`<iq type='result' id='` + e.attr("id") + `' from='example.test'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im'/></query></iq>`)
			} else {
				sc.send(`<iq type='error' id='` + e.attr("id") + `' from='nobody.test'><error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
			}
		}
	}()
	q := &stanza.Stanza{Type: "get", To: "example.test", Payload: []byte(`<query xmlns='http://jabber.org/protocol/disco#info'/>`)}
	res, err := c.SendIQ(withTimeout(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Payload), "identity") || res.Type != "result" {
		t.Fatalf("result = %+v", res)
	}
	if q.ID != "" {
		t.Fatal("SendIQ modified the caller's stanza")
	}
	res, err = c.SendIQ(withTimeout(t), &stanza.Stanza{Type: "get", To: "nobody.test", Payload: []byte(`<ping xmlns='urn:xmpp:ping'/>`)})
	var se *stanza.Error
	if !errors.As(err, &se) || se.Condition != stanza.RemoteServerNotFound || res == nil || res.Type != "error" {
		t.Fatalf("error reply: res=%+v err=%v, want remote-server-not-found", res, err)
	}
	for _, s := range c.Pending() {
		if s.Type == "result" || s.Type == "error" {
			t.Fatalf("iq reply leaked into the queue: %+v", s)
		}
	}
	sc.answerClose()
}

func TestClientConcurrentExpect(t *testing.T) {
	srv := newFakeServer(t)
	c := dialFake(t, srv)
	sc := srv.conn()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Expect(withTimeout(t), isMessage(fmt.Sprint(i))); err != nil {
				errs <- err
			}
		}()
	}
	for i := range n {
		sc.send(fmt.Sprintf(`<message from='bob@example.test'><body>%d</body></message>`, n-1-i))
		if i%5 == 0 {
			_ = c.Presence(context.Background(), "", "", "away", fmt.Sprint(i))
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sc.answerClose()
}

func TestClientCloseHandshake(t *testing.T) {
	srv := newFakeServer(t)
	c := dialFake(t, srv)
	sc := srv.conn()
	done := make(chan []*element)
	go func() {
		var got []*element
		for {
			e := sc.next()
			got = append(got, e)
			if e.end {
				sc.send(`</stream:stream>`)
				_ = sc.conn.Close()
				done <- got
				return
			}
		}
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if len(got) != 2 || got[0].XMLName.Local != "presence" || got[0].attr("type") != "unavailable" {
		t.Fatalf("server read %+v, want unavailable presence then </stream:stream>", got)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err() = %v, want ErrClosed", c.Err())
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.SendRaw("<presence/>"); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

func TestClientStreamError(t *testing.T) {
	srv := newFakeServer(t)
	c := dialFake(t, srv)
	sc := srv.conn()
	sc.send(`<message from='bob@example.test'><body>last words</body></message>` +
		`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text></stream:error></stream:stream>`)
	if e := sc.next(); !e.end {
		t.Fatalf("client did not answer </stream:stream>, sent %+v", e)
	}
	_ = sc.conn.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not notice the end of the stream")
	}
	var se *StreamError
	if !errors.As(c.Err(), &se) || se.Condition != "conflict" || se.Text != "Replaced by new connection" {
		t.Fatalf("Err() = %v, want conflict stream error", c.Err())
	}
	// what arrived before the end is still there; waiting for more fails fast
	if _, err := c.Expect(withTimeout(t), isMessage("last words")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(withTimeout(t), isMessage("never")); !errors.As(err, &se) {
		t.Fatalf("Expect after the end: %v, want the stream error", err)
	}
	if _, err := c.SendIQ(withTimeout(t), &stanza.Stanza{Type: "get", To: "example.test"}); err == nil {
		t.Fatal("SendIQ after the end succeeded")
	}
}

func TestClientKill(t *testing.T) {
	srv := newFakeServer(t)
	c := dialFake(t, srv)
	sc := srv.conn()
	c.Kill()
	// the server sees EOF without </stream:stream>
	_ = sc.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	tok, err := sc.dec.Token()
	if err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("server read %v, %v; want an unexpected EOF", tok, err)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err() = %v, want ErrClosed", c.Err())
	}
}

func TestClientAuthFailure(t *testing.T) {
	srv := newFakeServer(t)
	ctx := withTimeout(t)
	_, err := Dial(ctx, srv.addr(), "alice@example.test", "wrong", Resource("phone"))
	if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "not-authorized") {
		t.Fatalf("Dial with a wrong password: %v, want ErrAuthFailed not-authorized", err)
	}
	srv = newFakeServer(t)
	if _, err := Dial(ctx, srv.addr(), "alice@example.test", "secret", Mechanism(MechSCRAMSHA1)); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("forced SCRAM on a PLAIN-only server: %v, want ErrAuthFailed", err)
	}
}

func TestDialContextCancelled(t *testing.T) {
	// a listener that accepts but never speaks: the login must give up with ctx
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = Dial(ctx, ln.Addr().String(), "alice@example.test", "x")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > time.Second {
		t.Fatalf("Dial = %v after %v, want deadline exceeded quickly", err, time.Since(began))
	}
}

func TestSplitJID(t *testing.T) {
	for _, bad := range []string{"", "example.test", "@example.test", "alice@"} {
		if _, _, _, err := splitJID(bad); err == nil {
			t.Errorf("splitJID(%q) accepted", bad)
		}
	}
	l, d, r, err := splitJID("alice@example.test/a/b")
	if err != nil || l != "alice" || d != "example.test" || r != "a/b" {
		t.Fatalf("splitJID = %q %q %q %v", l, d, r, err)
	}
}
