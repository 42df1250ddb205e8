package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

func TestHandshake(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		fs := newFakeServer(t)
		h := newHarness(t, fs, nil)
		h.start(t)
		h.waitConnected(t)
		if sc := fs.nextConn(t); !sc.hashOK {
			t.Fatal("server saw a wrong handshake hash")
		}
		if !h.link.Connected() || !h.link.Stats().Connected {
			t.Fatal("link does not report connected")
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		fs := newFakeServer(t)
		h := newHarness(t, fs, func(c *Config) { c.Secret = "wrong" })
		h.start(t)
		err := waitFor(t, h.connErrs, "connect error")
		var se *StreamError
		if !errors.As(err, &se) || se.Condition != "not-authorized" || se.Text != "Given token does not match calculated token" {
			t.Fatalf("err = %v, want stream error not-authorized with text", err)
		}
		if sc := fs.nextConn(t); sc.hashOK {
			t.Fatal("server accepted the wrong secret")
		}
		if h.link.Connected() {
			t.Fatal("link reports connected after a refused handshake")
		}
		select {
		case <-h.connected:
			t.Fatal("OnConnect called after a refused handshake")
		default:
		}
	})
}

func TestStreamErrorConflictBacksOff(t *testing.T) {
	const floor = 100 * time.Millisecond
	fs := newFakeServer(t)
	fs.answer = func(int) string {
		return `<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Component already connected</text></stream:error></stream:stream>`
	}
	h := newHarness(t, fs, func(c *Config) { c.BackoffMin, c.BackoffMax = floor, floor })
	h.start(t)

	err := waitFor(t, h.connErrs, "connect error")
	failedAt := time.Now()
	var se *StreamError
	if !errors.As(err, &se) || se.Condition != "conflict" || se.Text != "Component already connected" {
		t.Fatalf("err = %v, want stream error conflict", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "conflict") || !strings.Contains(msg, "Component already connected") {
		t.Fatalf("error text %q does not name the condition and text", msg)
	}
	fs.nextConn(t)
	second := fs.nextConn(t)
	if gap := second.accepted.Sub(failedAt); gap < floor-5*time.Millisecond {
		t.Fatalf("retried after %v, want a backoff of at least %v", gap, floor)
	}
}

func TestStanzasRoundTrip(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, nil)
	h.start(t)
	h.waitConnected(t)
	sc := fs.nextConn(t)

	sc.send(t, `<message from='alice@example.test/phone' to='+1555@sip.example.test' type='chat' id='m1' xml:lang='en'>`+
		`<body>hi &amp; bye</body><x xmlns='urn:example:x' a='1'><y xmlns='urn:example:y'>v</y></x></message>`+
		`<presence from='alice@example.test/phone' to='+1555@sip.example.test'/>`+
		`<iq type='get' id='q1' from='alice@example.test/phone' to='sip.example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)

	m := waitFor(t, h.handled, "message")
	if m.Kind() != stanza.KindMessage || m.ID != "m1" || m.Type != "chat" || m.From != "alice@example.test/phone" ||
		m.To != "+1555@sip.example.test" || m.Lang != "en" {
		t.Fatalf("message envelope = %+v", m)
	}
	var body string
	if ok, err := m.Decode("", "body", &body); !ok || err != nil || body != "hi & bye" {
		t.Fatalf("body = %q (%v, %v)", body, ok, err)
	}
	var x struct {
		A string `xml:"a,attr"`
		Y string `xml:"urn:example:y y"`
	}
	if ok, err := m.Decode("urn:example:x", "x", &x); !ok || err != nil || x.A != "1" || x.Y != "v" {
		t.Fatalf("namespaced payload lost: %+v (%v, %v) in %q", x, ok, err, m.Payload)
	}
	if p := waitFor(t, h.handled, "presence"); p.Kind() != stanza.KindPresence {
		t.Fatalf("second stanza = %+v", p)
	}
	q := waitFor(t, h.handled, "iq")
	if !q.IsIQRequest() {
		t.Fatalf("third stanza = %+v", q)
	}
	if name, ok := q.Element(""); !ok || name.Space != "http://jabber.org/protocol/disco#info" {
		t.Fatalf("iq payload element = %v %v", name, ok)
	}

	reply, err := stanza.Result(q, []byte(`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='gateway' type='sip' name='a&lt;b'/></query>`))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.link.Send(context.Background(), reply); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := sc.nextStanza(t)
	if got.Kind() != stanza.KindIQ || got.Type != "result" || got.ID != "q1" || got.From != "sip.example.test" || got.To != "alice@example.test/phone" {
		t.Fatalf("server got %+v", got)
	}
	var query struct {
		Identity struct {
			Name string `xml:"name,attr"`
		} `xml:"identity"`
	}
	if ok, err := got.Decode("http://jabber.org/protocol/disco#info", "query", &query); !ok || err != nil || query.Identity.Name != "a<b" {
		t.Fatalf("server payload = %q (%v, %v)", got.Payload, ok, err)
	}

	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if st := h.link.Stats(); st.StanzasIn != 3 || st.StanzasOut != 1 || st.Connected {
		t.Fatalf("stats = %+v", st)
	}
}

func TestSendValidation(t *testing.T) {
	l, err := NewLink(Config{Addr: "127.0.0.1:1", Domain: testDomain, Secret: "s"}, HandlerFunc(func(context.Context, *stanza.Stanza) {}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kind, from, to string
		valid                bool
	}{
		{"domain", "message", "sip.example.test", "a@example.test", true},
		{"local", "presence", "+1555@sip.example.test", "a@example.test", true},
		{"full", "iq", "+1555@sip.example.test/res", "a@example.test", true},
		{"case", "message", "x@SIP.Example.Test", "a@example.test", true},
		{"empty from", "message", "", "a@example.test", false},
		{"other domain", "message", "x@example.test", "a@example.test", false},
		{"suffix trick", "message", "x@sip.example.test.evil", "a@example.test", false},
		{"sub domain", "message", "x@a.sip.example.test", "a@example.test", false},
		{"empty local", "message", "@sip.example.test", "a@example.test", false},
		{"empty resource", "message", "x@sip.example.test/", "a@example.test", false},
		{"empty to", "message", "x@sip.example.test", "", false},
		{"not a stanza", "handshake", "x@sip.example.test", "a@example.test", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &stanza.Stanza{XMLName: xml.Name{Local: tc.kind}, From: tc.from, To: tc.to}
			err := l.Send(context.Background(), s)
			if tc.valid && !errors.Is(err, ErrNotConnected) {
				t.Fatalf("Send = %v, want ErrNotConnected (valid stanza, link idle)", err)
			}
			if !tc.valid && !errors.Is(err, ErrInvalidStanza) {
				t.Fatalf("Send = %v, want ErrInvalidStanza", err)
			}
		})
	}
	if _, err := l.SendIQ(context.Background(), msg(testDomain, "a@example.test", "x")); !errors.Is(err, ErrInvalidStanza) {
		t.Fatalf("SendIQ(message) = %v, want ErrInvalidStanza", err)
	}
}

// iqRequest is a disco#info get from the component.
func iqRequest(to string) *stanza.Stanza {
	return &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "get", From: testDomain, To: to,
		Payload: []byte(`<query xmlns='http://jabber.org/protocol/disco#info'/>`)}
}

type iqOutcome struct {
	reply *stanza.Stanza
	err   error
	took  time.Duration
}

// sendIQAsync runs SendIQ in a goroutine; the test reads the outcome.
func sendIQAsync(ctx context.Context, l *Link, iq *stanza.Stanza) <-chan iqOutcome {
	ch := make(chan iqOutcome, 1)
	go func() {
		start := time.Now()
		r, err := l.SendIQ(ctx, iq)
		ch <- iqOutcome{r, err, time.Since(start)}
	}()
	return ch
}

func TestSendIQ(t *testing.T) {
	setup := func(t *testing.T, mutate func(*Config)) (*harness, *srvConn) {
		fs := newFakeServer(t)
		h := newHarness(t, fs, mutate)
		h.start(t)
		h.waitConnected(t)
		return h, fs.nextConn(t)
	}
	// sentinel proves, by arriving first, that nothing before it reached the handler.
	sentinel := `<message from='z@example.test' to='sip.example.test' id='sentinel'/>`
	expectHandled := func(t *testing.T, h *harness, id string) {
		t.Helper()
		if s := waitFor(t, h.handled, "handler"); s.ID != id {
			t.Fatalf("handler got %q, want %q", s.ID, id)
		}
	}

	t.Run("result", func(t *testing.T) {
		h, sc := setup(t, nil)
		out := sendIQAsync(context.Background(), h.link, iqRequest("example.test"))
		req := sc.nextStanza(t)
		if !strings.HasPrefix(req.ID, "fargo-") || req.Type != "get" || req.To != "example.test" || req.From != testDomain {
			t.Fatalf("server got %+v", req)
		}
		sc.send(t, `<iq type='result' id='`+req.ID+`' from='example.test' to='sip.example.test'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im'/></query></iq>`+sentinel)
		o := waitFor(t, out, "SendIQ")
		if o.err != nil || o.reply.Type != "result" || !strings.Contains(string(o.reply.Payload), "identity") {
			t.Fatalf("SendIQ = %+v, %v", o.reply, o.err)
		}
		expectHandled(t, h, "sentinel")
	})

	t.Run("error", func(t *testing.T) {
		h, sc := setup(t, nil)
		out := sendIQAsync(context.Background(), h.link, iqRequest("example.test"))
		req := sc.nextStanza(t)
		sc.send(t, `<iq type='error' id='`+req.ID+`' from='example.test' to='sip.example.test'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>nope</text></error></iq>`)
		o := waitFor(t, out, "SendIQ")
		var se *stanza.Error
		if !errors.As(o.err, &se) || se.Condition != stanza.ServiceUnavailable || se.Type != stanza.TypeCancel || se.Text != "nope" {
			t.Fatalf("err = %v, want *stanza.Error service-unavailable", o.err)
		}
		if o.reply == nil || o.reply.Type != "error" {
			t.Fatalf("reply = %+v, want the error stanza", o.reply)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		h, sc := setup(t, func(c *Config) { c.IQTimeout = 100 * time.Millisecond })
		out := sendIQAsync(context.Background(), h.link, iqRequest("example.test"))
		sc.nextStanza(t)
		o := waitFor(t, out, "SendIQ")
		if !errors.Is(o.err, ErrIQTimeout) || o.took < 100*time.Millisecond {
			t.Fatalf("SendIQ = %v after %v, want ErrIQTimeout after 100ms", o.err, o.took)
		}
		if n := h.link.Stats().IQTimeouts; n != 1 {
			t.Fatalf("IQTimeouts = %d, want 1", n)
		}
	})

	t.Run("ctx", func(t *testing.T) {
		h, _ := setup(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		o := waitFor(t, sendIQAsync(ctx, h.link, iqRequest("example.test")), "SendIQ")
		if !errors.Is(o.err, ErrIQTimeout) || !errors.Is(o.err, context.DeadlineExceeded) {
			t.Fatalf("SendIQ = %v, want ErrIQTimeout wrapping DeadlineExceeded", o.err)
		}
	})

	t.Run("unrelated id ignored", func(t *testing.T) {
		h, sc := setup(t, nil)
		out := sendIQAsync(context.Background(), h.link, iqRequest("example.test"))
		req := sc.nextStanza(t)
		sc.send(t, `<iq type='result' id='other' from='example.test' to='sip.example.test'/>`)
		expectHandled(t, h, "other")
		sc.send(t, `<iq type='result' id='`+req.ID+`' from='example.test' to='sip.example.test'/>`)
		if o := waitFor(t, out, "SendIQ"); o.err != nil || o.reply.ID != req.ID {
			t.Fatalf("SendIQ = %+v, %v", o.reply, o.err)
		}
	})

	t.Run("wrong jid ignored", func(t *testing.T) {
		h, sc := setup(t, nil)
		out := sendIQAsync(context.Background(), h.link, iqRequest("alice@example.test/phone"))
		req := sc.nextStanza(t)
		sc.send(t, `<iq type='result' id='`+req.ID+`' from='mallory@example.test/x' to='sip.example.test'/>`)
		if s := waitFor(t, h.handled, "handler"); s.ID != req.ID || s.From != "mallory@example.test/x" {
			t.Fatalf("handler got %+v, want the spoofed reply", s)
		}
		select {
		case o := <-out:
			t.Fatalf("SendIQ took a reply from the wrong JID: %+v", o)
		default:
		}
		sc.send(t, `<iq type='result' id='`+req.ID+`' from='alice@example.test/phone' to='sip.example.test'/>`)
		if o := waitFor(t, out, "SendIQ"); o.err != nil || o.reply.From != "alice@example.test/phone" {
			t.Fatalf("SendIQ = %+v, %v", o.reply, o.err)
		}
	})
}

func TestReconnect(t *testing.T) {
	const floor = 100 * time.Millisecond
	fs := newFakeServer(t)
	h := newHarness(t, fs, func(c *Config) { c.BackoffMin, c.BackoffMax = floor, floor })
	h.start(t)
	ctx1 := h.waitConnected(t)
	sc1 := fs.nextConn(t)

	pending := sendIQAsync(context.Background(), h.link, iqRequest("example.test"))
	sc1.nextStanza(t) // the iq is on the wire, so SendIQ is waiting
	_ = sc1.nc.Close()
	closedAt := time.Now()

	if o := waitFor(t, pending, "pending SendIQ"); !errors.Is(o.err, ErrNotConnected) {
		t.Fatalf("pending SendIQ = %v, want ErrNotConnected", o.err)
	}
	if err := waitFor(t, h.disconnected, "OnDisconnect"); err == nil {
		t.Fatal("OnDisconnect(nil) after the server dropped us")
	}
	waitFor(t, ctx1.Done(), "first OnConnect ctx to end")

	h.waitConnected(t)
	sc2 := fs.nextConn(t)
	if gap := sc2.accepted.Sub(closedAt); gap < floor {
		t.Fatalf("reconnected after %v, want a backoff of at least %v", gap, floor)
	}
	if n := h.link.Stats().Reconnects; n != 1 {
		t.Fatalf("Reconnects = %d, want 1", n)
	}
	if err := h.link.Send(context.Background(), msg(testDomain, "a@example.test", "back")); err != nil {
		t.Fatalf("Send after reconnect: %v", err)
	}
	if s := sc2.nextStanza(t); s.Kind() != stanza.KindMessage {
		t.Fatalf("server got %+v", s)
	}
}

func TestSendWhileDown(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, func(c *Config) { c.BackoffMin, c.BackoffMax = time.Hour, time.Hour })
	m := msg(testDomain, "a@example.test", "x")
	if err := h.link.Send(context.Background(), m); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send before Run = %v, want ErrNotConnected", err)
	}
	h.start(t)
	h.waitConnected(t)
	_ = fs.nextConn(t).nc.Close()
	waitFor(t, h.disconnected, "OnDisconnect")
	if err := h.link.Send(context.Background(), m); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send while down = %v, want ErrNotConnected", err)
	}
	if _, err := h.link.SendIQ(context.Background(), iqRequest("example.test")); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("SendIQ while down = %v, want ErrNotConnected", err)
	}
	if h.link.Connected() {
		t.Fatal("Connected while down")
	}
	// stop must interrupt the hour-long backoff.
}

func TestBackpressure(t *testing.T) {
	// Small socket buffers on both ends, so the kernel absorbs little and
	// the queue is what fills up.
	fs := newFakeServerBuf(t, 4096)
	fs.noRead = true
	h := newHarness(t, fs, func(c *Config) { c.QueueSize = 4; c.WriteTimeout = time.Minute })
	h.link.closeFlush = 100 * time.Millisecond
	h.link.dialControl = sockBuf(syscall.SO_SNDBUF, 4096)
	h.start(t)
	h.waitConnected(t)

	// Fill the socket buffers, then the queue; the first Send that cannot
	// enqueue must block until its deadline.
	big := msg(testDomain, "a@example.test", strings.Repeat("x", 16<<10))
	const deadline = 150 * time.Millisecond
	for i := 0; ; i++ {
		if i == 1000 {
			t.Fatal("Send never blocked")
		}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		start := time.Now()
		err := h.link.Send(ctx, big)
		took := time.Since(start)
		cancel()
		if err == nil {
			continue
		}
		if !errors.Is(err, context.DeadlineExceeded) || took < deadline-5*time.Millisecond {
			t.Fatalf("Send = %v after %v, want DeadlineExceeded after blocking %v", err, took, deadline)
		}
		break
	}
	if st := h.link.Stats(); st.QueueLen != 4 || !st.Connected {
		t.Fatalf("stats = %+v, want a full queue of 4 on a live link", st)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if st := h.link.Stats(); st.Dropped < 4 {
		t.Fatalf("Dropped = %d, want at least the 4 queued stanzas", st.Dropped)
	}
}

func TestOversizedStanzaReconnects(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, func(c *Config) { c.MaxStanzaSize = 4096 })
	h.start(t)
	h.waitConnected(t)
	sc := fs.nextConn(t)

	body := func(n int) string {
		return `<message from='a@example.test' to='b@sip.example.test' id='` + string(rune('a'+n%26)) + `'><body>` + strings.Repeat("y", n) + `</body></message>`
	}
	sc.send(t, body(3000)) // under the limit: delivered
	if s := waitFor(t, h.handled, "small stanza"); len(s.Payload) < 3000 {
		t.Fatalf("payload of %d bytes", len(s.Payload))
	}
	sc.send(t, body(8000))
	if ev := sc.next(t); ev.streamErr != "policy-violation" {
		t.Fatalf("server got %+v, want <policy-violation/>", ev)
	}
	if ev := sc.next(t); !ev.end {
		t.Fatalf("server got %+v, want </stream:stream>", ev)
	}
	waitFor(t, h.disconnected, "OnDisconnect")
	h.waitConnected(t)
	sc2 := fs.nextConn(t)
	sc2.send(t, `<message from='a@example.test' to='b@sip.example.test' id='after'/>`)
	if s := waitFor(t, h.handled, "stanza after reconnect"); s.ID != "after" {
		t.Fatalf("handler got %q; the oversized stanza must not reach it", s.ID)
	}
}

func TestMalformedXMLReconnects(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, nil)
	h.start(t)
	h.waitConnected(t)
	sc := fs.nextConn(t)
	sc.send(t, `<message from='a@example.test' to='b@sip.example.test'><body>x</wrong></message>`)
	if ev := sc.next(t); ev.streamErr != "not-well-formed" {
		t.Fatalf("server got %+v, want <not-well-formed/>", ev)
	}
	if err := waitFor(t, h.disconnected, "OnDisconnect"); !errors.Is(err, errMalformed) {
		t.Fatalf("OnDisconnect(%v), want malformed xml", err)
	}
	h.waitConnected(t)
	fs.nextConn(t)
}

func TestGracefulShutdown(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, nil)
	h.start(t)
	h.waitConnected(t)
	sc := fs.nextConn(t)
	for _, b := range []string{"1", "2", "3"} {
		if err := h.link.Send(context.Background(), msg(testDomain, "a@example.test", b)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := h.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("graceful close took %v although the server answered at once", took)
	}
	for _, b := range []string{"1", "2", "3"} {
		if s := sc.nextStanza(t); string(s.Payload) != "<body>"+b+"</body>" {
			t.Fatalf("server got %q, want body %s", s.Payload, b)
		}
	}
	if ev := sc.next(t); !ev.end {
		t.Fatalf("server got %+v, want </stream:stream>", ev)
	}
	sc.waitEOF(t)
	if err := waitFor(t, h.disconnected, "OnDisconnect"); err != nil {
		t.Fatalf("OnDisconnect(%v), want nil after a graceful close", err)
	}
	if err := h.link.Send(context.Background(), msg(testDomain, "a@example.test", "late")); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send after Run = %v, want ErrNotConnected", err)
	}
}

func TestKeepaliveAndPingWatchdog(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, func(c *Config) {
		c.KeepAlive = 20 * time.Millisecond
		c.IQTimeout = 100 * time.Millisecond
	})
	h.start(t)
	h.waitConnected(t)
	sc := fs.nextConn(t)

	sawSpace := false
	for {
		ev := waitFor(t, sc.events, "keepalive or ping")
		if ev.ws {
			sawSpace = true
			continue
		}
		if ev.st == nil || ev.st.To != "example.test" || !strings.Contains(string(ev.st.Payload), "urn:xmpp:ping") {
			t.Fatalf("server got %+v, want a ping to example.test", ev)
		}
		break
	}
	if !sawSpace {
		t.Fatal("no whitespace keepalive before the ping")
	}
	// The ping stays unanswered: the link must give up on this connection.
	if err := waitFor(t, h.disconnected, "OnDisconnect"); err == nil || !strings.Contains(err.Error(), "ping") {
		t.Fatalf("OnDisconnect(%v), want a ping failure", err)
	}
	h.waitConnected(t)
	fs.nextConn(t)
}

func TestRunTwice(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, nil)
	h.start(t)
	h.waitConnected(t)
	if err := h.link.Run(context.Background()); err == nil {
		t.Fatal("second Run did not fail")
	}
}

func TestHandlerCanSend(t *testing.T) {
	fs := newFakeServer(t)
	h := newHarness(t, fs, nil)
	// Answer from inside the handler, as the gateway does for disco: the
	// reader must not deadlock on its own writer.
	h.tap = func(s *stanza.Stanza) {
		r, err := stanza.Result(s)
		if err == nil {
			err = h.link.Send(context.Background(), r)
		}
		if err != nil {
			t.Errorf("Send from handler: %v", err)
		}
	}
	h.start(t)
	sc := fs.nextConn(t)
	// Written at once after the handshake: the handler must already be able to send.
	for i := range 50 {
		sc.send(t, `<iq type='get' id='q`+string(rune('A'+i))+`' from='a@example.test/x' to='sip.example.test'><ping xmlns='urn:xmpp:ping'/></iq>`)
	}
	for i := range 50 {
		if r := sc.nextStanza(t); r.ID != "q"+string(rune('A'+i)) || r.Type != "result" {
			t.Fatalf("reply %d = %+v", i, r)
		}
	}
}

func TestServerEndsStream(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		check     func(error) bool
	}{
		{"stream error", `<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
			func(err error) bool {
				var se *StreamError
				return errors.As(err, &se) && se.Condition == "system-shutdown"
			}},
		{"stream close", `</stream:stream>`, func(err error) bool { return errors.Is(err, errStreamEnd) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFakeServer(t)
			h := newHarness(t, fs, nil)
			h.start(t)
			h.waitConnected(t)
			sc := fs.nextConn(t)
			sc.send(t, tc.raw)
			if err := waitFor(t, h.disconnected, "OnDisconnect"); !tc.check(err) {
				t.Fatalf("OnDisconnect(%v)", err)
			}
			if ev := sc.next(t); !ev.end {
				t.Fatalf("server got %+v, want our </stream:stream>", ev)
			}
			h.waitConnected(t)
		})
	}
}
