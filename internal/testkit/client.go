package testkit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp/sasl"
)

// Namespaces of the c2s stream setup (RFC 6120, RFC 3921 session).
const (
	nsClient  = "jabber:client"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsStreams = "urn:ietf:params:xml:ns:xmpp-streams"
	nsRoster  = "jabber:iq:roster"
)

// writeTimeout bounds a single write when the caller gave no deadline: a
// test must fail, not hang, when the server stops reading.
const writeTimeout = 10 * time.Second

// closeWait is how long Close waits for the server's </stream:stream>.
const closeWait = 3 * time.Second

var (
	// ErrAuthFailed is wrapped by Dial's error when SASL authentication fails.
	ErrAuthFailed = errors.New("xmpp authentication failed")
	// ErrClosed is the terminal error of a client ended by Close or Kill.
	ErrClosed = errors.New("xmpp client closed")
	// ErrStreamClosed is the terminal error when the server ended the stream
	// (</stream:stream> or TCP close) without a stream error.
	ErrStreamClosed = errors.New("xmpp stream closed by the server")
)

// StreamError is a <stream:error/> the server sent before closing the stream.
type StreamError struct {
	Condition string // e.g. "conflict", "policy-violation"
	Text      string
}

func (e *StreamError) Error() string {
	if e.Text == "" {
		return "xmpp stream error: " + e.Condition
	}
	return fmt.Sprintf("xmpp stream error: %s: %s", e.Condition, e.Text)
}

// Option configures Dial.
type Option func(*options)

type options struct {
	resource      string
	mechanism     string
	autoSubscribe string
	noRoster      bool
	logf          func(format string, args ...any)
}

// NoRoster skips the roster request at login, leaving the resource not
// "interested": the server then sends it no roster pushes.
func NoRoster() Option { return func(o *options) { o.noRoster = true } }

// Resource sets the resource to bind (default "testkit", or the resource
// part of the JID given to Dial).
func Resource(r string) Option { return func(o *options) { o.resource = r } }

// Mechanism forces a SASL mechanism (MechSCRAMSHA1 or MechPLAIN). By default
// SCRAM-SHA-1 is used when offered and PLAIN otherwise.
func Mechanism(m string) Option { return func(o *options) { o.mechanism = m } }

// AutoSubscribe makes the client answer every <presence type='subscribe'/>
// from a JID of domain (e.g. the gateway's "sip.example.test") with
// 'subscribed', as a user accepting the gateway's contacts would.
func AutoSubscribe(domain string) Option { return func(o *options) { o.autoSubscribe = domain } }

// Logf receives every stanza sent and received (e.g. t.Logf). Close and
// Kill wait for the reader to stop, so logging ends with them.
func Logf(f func(format string, args ...any)) Option { return func(o *options) { o.logf = f } }

// Client is a minimal real XMPP c2s client over plain TCP. All methods are
// safe for concurrent use. Every received stanza is queued for Expect, even
// the ones the client answered itself (roster pushes, auto-approved
// subscriptions) so that tests can assert on them; replies to SendIQ are not,
// nor are the stanzas an OnStanza handler consumed.
type Client struct {
	conn net.Conn
	br   *bufio.Reader
	jid  string
	bare string
	logf func(format string, args ...any)

	wmu       sync.Mutex // serializes writes and guards closeSent
	closeSent bool

	mu            sync.Mutex
	queue         []*stanza.Stanza
	notify        chan struct{} // closed and replaced whenever queue or err changes
	pending       map[string]chan *stanza.Stanza
	autoSubscribe string
	handlers      []StanzaHandler
	presenceExt   string // raw XML added to available presence (SetPresenceExtension)
	streamErr     *StreamError
	err           error // terminal error, set once the reader has stopped

	closing   atomic.Bool
	closeOnce sync.Once
	done      chan struct{} // closed when the reader goroutine has exited
	life      context.Context
	endLife   context.CancelFunc // ends life once the reader has exited
	nextID    atomic.Uint64
}

// Dial connects to addr (host:port of the c2s listener) over plain TCP,
// authenticates jid ("user@domain" or "user@domain/resource") with SASL,
// binds a resource, starts a session when the server requires one and
// fetches the roster (see NoRoster). It sends no presence: call Presence.
// ctx bounds the whole login.
func Dial(ctx context.Context, addr, jid, password string, opts ...Option) (*Client, error) {
	o := options{resource: "testkit"}
	local, domain, resource, err := splitJID(jid)
	if err != nil {
		return nil, err
	}
	if resource != "" {
		o.resource = resource
	}
	for _, f := range opts {
		f(&o)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := &Client{
		conn:          conn,
		br:            bufio.NewReader(conn),
		bare:          local + "@" + domain,
		logf:          o.logf,
		notify:        make(chan struct{}),
		pending:       map[string]chan *stanza.Stanza{},
		autoSubscribe: o.autoSubscribe,
		done:          make(chan struct{}),
	}
	c.life, c.endLife = context.WithCancel(context.Background())
	// A cancelled ctx unblocks the handshake's reads and writes at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	dec, err := c.login(domain, local, password, o)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = conn.Close()
		c.endLife()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("xmpp login of %s at %s: %w (%w)", jid, addr, ctx.Err(), err)
		}
		return nil, fmt.Errorf("xmpp login of %s at %s: %w", jid, addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	go c.readLoop(dec)
	return c, nil
}

func splitJID(jid string) (local, domain, resource string, err error) {
	bare, resource, _ := strings.Cut(jid, "/")
	local, domain, ok := strings.Cut(bare, "@")
	if !ok || local == "" || domain == "" {
		return "", "", "", fmt.Errorf("jid %q: want user@domain[/resource]", jid)
	}
	return local, domain, resource, nil
}

// login runs stream setup, SASL, the stream restart, bind, session and the
// roster request, and returns the decoder positioned inside the final stream.
func (c *Client) login(domain, user, password string, o options) (*xml.Decoder, error) {
	dec, f, err := c.openStream(domain)
	if err != nil {
		return nil, err
	}
	if err := c.authenticate(dec, f.Mechanisms, user, password, o.mechanism); err != nil {
		return nil, err
	}
	// RFC 6120 §6.4.6: after SASL success both sides restart the stream.
	if dec, f, err = c.openStream(domain); err != nil {
		return nil, err
	}
	if f.Bind == nil {
		return nil, errors.New("server offers no resource binding")
	}
	if err := c.bind(dec, o.resource); err != nil {
		return nil, err
	}
	if f.Session != nil && f.Session.Optional == nil {
		if _, err := c.setupIQ(dec, "set", "sess_1", `<session xmlns="`+nsSession+`"/>`); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	// Like a real client, fetch the roster: it makes this resource
	// "interested" (RFC 6121 §2.1.6), without which Prosody sends it neither
	// roster pushes nor subscription approvals.
	if !o.noRoster {
		if _, err := c.setupIQ(dec, "get", "roster_1", `<query xmlns="`+nsRoster+`"/>`); err != nil {
			return nil, fmt.Errorf("roster get: %w", err)
		}
	}
	return dec, nil
}

type streamFeatures struct {
	Mechanisms []string  `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms>mechanism"`
	Bind       *struct{} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
	Session    *struct {
		Optional *struct{} `xml:"optional"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-session session"`
}

// openStream sends our stream header and reads the server's header and
// features. The decoder reads from the shared bufio.Reader byte by byte, so
// nothing is lost when the stream restarts with a new decoder.
func (c *Client) openStream(domain string) (*xml.Decoder, *streamFeatures, error) {
	header := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='` + stanza.NSStream +
		`' to='` + xmlEscape(domain) + `' version='1.0' xml:lang='en'>`
	if err := c.writeRaw(context.Background(), header); err != nil {
		return nil, nil, err
	}
	dec := xml.NewDecoder(c.br)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("read stream header: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space != stanza.NSStream || se.Name.Local != "stream" {
				return nil, nil, fmt.Errorf("expected <stream:stream>, got <%s xmlns=%q>", se.Name.Local, se.Name.Space)
			}
			break
		}
	}
	start, err := nextStart(dec)
	if err != nil {
		return nil, nil, err
	}
	if start.Name.Space != stanza.NSStream || start.Name.Local != "features" {
		return nil, nil, fmt.Errorf("expected <stream:features>, got <%s>", start.Name.Local)
	}
	var f streamFeatures
	if err := dec.DecodeElement(&f, &start); err != nil {
		return nil, nil, fmt.Errorf("decode stream features: %w", err)
	}
	return dec, &f, nil
}

// nextStart returns the next top-level element's start during the
// handshake, turning a stream error or the stream's end into an error.
func nextStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("read: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == stanza.NSStream && t.Name.Local == "error" {
				return xml.StartElement{}, decodeStreamError(dec, &t)
			}
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, ErrStreamClosed
		}
	}
}

func decodeStreamError(dec *xml.Decoder, start *xml.StartElement) *StreamError {
	var w struct {
		Inner []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
	}
	se := &StreamError{Condition: "undefined-condition"}
	if err := dec.DecodeElement(&w, start); err != nil {
		se.Text = "undecodable stream error: " + err.Error()
		return se
	}
	for _, e := range w.Inner {
		if e.XMLName.Space != nsStreams {
			continue
		}
		if e.XMLName.Local == "text" {
			se.Text = e.Text
		} else {
			se.Condition = e.XMLName.Local
		}
	}
	return se
}

func (c *Client) authenticate(dec *xml.Decoder, offered []string, user, password, forced string) error {
	mech, err := chooseMechanism(offered, forced)
	if err != nil {
		return err
	}
	m, err := sasl.New(mech, user, password)
	if err != nil {
		return err
	}
	initial, err := m.Start()
	if err != nil {
		return err
	}
	auth := `<auth xmlns="` + nsSASL + `" mechanism="` + mech + `">` + base64.StdEncoding.EncodeToString(initial) + `</auth>`
	if err := c.writeRaw(context.Background(), auth); err != nil {
		return err
	}
	return c.saslExchange(dec, m)
}

// saslExchange answers challenges until success or failure. SCRAM servers
// may send the server signature in a last challenge (then expect an empty
// response) or inside <success/>; the mechanism verifies it either way.
func (c *Client) saslExchange(dec *xml.Decoder, m sasl.Mechanism) error {
	mech := m.Name()
	for {
		start, err := nextStart(dec)
		if err != nil {
			return fmt.Errorf("sasl %s: %w", mech, err)
		}
		var el struct {
			Text  string `xml:",chardata"`
			Inner []struct {
				XMLName xml.Name
				Text    string `xml:",chardata"`
			} `xml:",any"`
		}
		if err := dec.DecodeElement(&el, &start); err != nil {
			return fmt.Errorf("sasl %s: decode <%s>: %w", mech, start.Name.Local, err)
		}
		text := strings.TrimSpace(el.Text)
		if text == "=" { // RFC 6120 §6.4.2: empty data
			text = ""
		}
		data, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return fmt.Errorf("sasl %s: bad base64 in <%s>: %w", mech, start.Name.Local, err)
		}
		switch start.Name.Local {
		case "failure":
			cond, text := "", ""
			for _, e := range el.Inner {
				if e.XMLName.Local == "text" {
					text = e.Text
				} else {
					cond = e.XMLName.Local
				}
			}
			return fmt.Errorf("%w: %s %s %s", ErrAuthFailed, mech, cond, text)
		case "success":
			if err := m.Finish(data); err != nil {
				return fmt.Errorf("%w: %w", ErrAuthFailed, err)
			}
			return nil
		case "challenge":
			resp, err := m.Next(data)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrAuthFailed, err)
			}
			r := `<response xmlns="` + nsSASL + `">` + base64.StdEncoding.EncodeToString(resp) + `</response>`
			if err := c.writeRaw(context.Background(), r); err != nil {
				return err
			}
		default:
			return fmt.Errorf("sasl %s: unexpected <%s>", mech, start.Name.Local)
		}
	}
}

func (c *Client) bind(dec *xml.Decoder, resource string) error {
	payload := `<bind xmlns="` + nsBind + `"><resource>` + xmlEscape(resource) + `</resource></bind>`
	res, err := c.setupIQ(dec, "set", "bind_1", payload)
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	var b struct {
		JID string `xml:"jid"`
	}
	if found, err := res.Decode(nsBind, "bind", &b); !found || err != nil || b.JID == "" {
		return fmt.Errorf("bind: no jid in result (%v)", err)
	}
	c.jid = b.JID
	return nil
}

// setupIQ sends an iq during the handshake (no reader goroutine yet) and
// reads its answer.
func (c *Client) setupIQ(dec *xml.Decoder, typ, id, payload string) (*stanza.Stanza, error) {
	if err := c.writeRaw(context.Background(), `<iq type="`+typ+`" id="`+id+`">`+payload+`</iq>`); err != nil {
		return nil, err
	}
	for {
		start, err := nextStart(dec)
		if err != nil {
			return nil, err
		}
		var s stanza.Stanza
		if err := dec.DecodeElement(&s, &start); err != nil {
			return nil, fmt.Errorf("decode <%s>: %w", start.Name.Local, err)
		}
		if s.Kind() != stanza.KindIQ || s.ID != id {
			c.dispatch(&s) // e.g. a roster push: answered and queued like later ones
			continue
		}
		if s.Type == "error" {
			return nil, stanza.ParseError(&s)
		}
		return &s, nil
	}
}

// JID is the full JID the server bound.
func (c *Client) JID() string { return c.jid }

// BareJID is user@domain.
func (c *Client) BareJID() string { return c.bare }

// Done is closed when the stream has ended (Close, Kill or the server).
func (c *Client) Done() <-chan struct{} { return c.done }

// Context ends once the stream has ended, like Done: what lives only as
// long as the session (a phone's call media) hangs on it.
func (c *Client) Context() context.Context { return c.life }

// Err is why the stream ended (ErrClosed, ErrStreamClosed, a *StreamError
// or a read error), or nil while it is up.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// SetAutoSubscribe changes the domain whose subscription requests are
// approved automatically ("" disables it).
func (c *Client) SetAutoSubscribe(domain string) {
	c.mu.Lock()
	c.autoSubscribe = domain
	c.mu.Unlock()
}

// StanzaHandler sees a received stanza before it is queued for Expect and
// returns true if it consumed it (then it is not queued).
type StanzaHandler func(*stanza.Stanza) (consumed bool)

// OnStanza adds h to the handlers that see every received stanza except
// replies to SendIQ and those the client answers itself (roster pushes,
// auto-approved subscriptions), in arrival order. Handlers run one
// after the other on the reader goroutine until one consumes the stanza: h
// may send (Send, SendRaw, Presence) but must not wait for anything the
// server sends (SendIQ, Expect), which only this goroutine could deliver.
func (c *Client) OnStanza(h StanzaHandler) {
	c.mu.Lock()
	c.handlers = append(c.handlers, h)
	c.mu.Unlock()
}

// SetPresenceExtension sets raw XML (e.g. XEP-0115 caps) that Presence adds
// to every available presence, broadcast or directed; "" removes it.
func (c *Client) SetPresenceExtension(raw string) {
	c.mu.Lock()
	c.presenceExt = raw
	c.mu.Unlock()
}

// Send writes one stanza (it gets no id unless it has one).
func (c *Client) Send(s *stanza.Stanza) error {
	b, err := s.Marshal()
	if err != nil {
		return fmt.Errorf("marshal stanza: %w", err)
	}
	return c.writeRaw(context.Background(), string(b))
}

// SendRaw writes xml as is: for stanzas Send cannot express, or garbage.
func (c *Client) SendRaw(xml string) error { return c.writeRaw(context.Background(), xml) }

// SendIQ sends an iq get or set (giving it an id if it has none) and waits
// for the result or error with the same id. An error reply is returned
// together with its *stanza.Error as the error.
func (c *Client) SendIQ(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	req := *iq
	req.XMLName = xml.Name{Local: string(stanza.KindIQ)}
	if req.ID == "" {
		req.ID = c.NewID()
	}
	ch := make(chan *stanza.Stanza, 1)
	c.mu.Lock()
	if _, dup := c.pending[req.ID]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("iq id %q already awaits a reply", req.ID)
	}
	c.pending[req.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
	}()
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal iq: %w", err)
	}
	if err := c.writeRaw(ctx, string(b)); err != nil {
		return nil, err
	}
	select {
	case res := <-ch:
		if res.Type == "error" {
			return res, stanza.ParseError(res)
		}
		return res, nil
	case <-c.done:
		return nil, fmt.Errorf("iq %s to %q: stream ended: %w", req.ID, req.To, c.Err())
	case <-ctx.Done():
		return nil, fmt.Errorf("iq %s to %q: no reply: %w", req.ID, req.To, ctx.Err())
	}
}

// Presence sends a presence stanza: typ "" is available, else
// "unavailable", "subscribe", "subscribed", …; to "" is a broadcast.
// show and status are optional.
func (c *Client) Presence(ctx context.Context, typ, to, show, status string) error {
	var p strings.Builder
	if show != "" {
		p.WriteString("<show>" + xmlEscape(show) + "</show>")
	}
	if status != "" {
		p.WriteString("<status>" + xmlEscape(status) + "</status>")
	}
	if typ == "" {
		c.mu.Lock()
		p.WriteString(c.presenceExt)
		c.mu.Unlock()
	}
	s := &stanza.Stanza{XMLName: xml.Name{Local: string(stanza.KindPresence)}, Type: typ, To: to, Payload: []byte(p.String())}
	b, err := s.Marshal()
	if err != nil {
		return fmt.Errorf("marshal presence: %w", err)
	}
	return c.writeRaw(ctx, string(b))
}

// NewID returns a stanza id unique within this client.
func (c *Client) NewID() string {
	return "tk" + strconv.FormatUint(c.nextID.Add(1), 10)
}

// Expect waits for the first received and not yet consumed stanza, in
// arrival order, for which match is true, removes it from the queue and
// returns it. Stanzas received before the call count. match runs without
// the client's lock held, so it may call the client.
func (c *Client) Expect(ctx context.Context, match func(*stanza.Stanza) bool) (*stanza.Stanza, error) {
	for {
		c.mu.Lock()
		snapshot := slices.Clone(c.queue)
		ended, notify := c.err, c.notify
		c.mu.Unlock()
		for _, s := range snapshot {
			if match(s) && c.take(s) {
				return s, nil
			}
		}
		if ended != nil {
			return nil, fmt.Errorf("no matching stanza before the stream ended: %w; unconsumed: %s", ended, summarize(snapshot))
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, fmt.Errorf("no matching stanza: %w; unconsumed: %s", ctx.Err(), summarize(snapshot))
		}
	}
}

// take removes s from the queue; false if another Expect got it first.
func (c *Client) take(s *stanza.Stanza) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.queue, s)
	if i < 0 {
		return false
	}
	c.queue = slices.Delete(c.queue, i, i+1)
	return true
}

// Pending returns the received stanzas nobody has consumed yet.
func (c *Client) Pending() []*stanza.Stanza {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.queue)
}

func summarize(q []*stanza.Stanza) string {
	if len(q) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, s := range q {
		if i == 10 {
			fmt.Fprintf(&b, " … (%d more)", len(q)-i)
			break
		}
		raw, _ := s.Marshal()
		if len(raw) > 300 {
			raw = append(raw[:300:300], "…"...)
		}
		b.WriteString("\n  ")
		b.Write(raw)
	}
	return b.String()
}

// Close ends the session politely: unavailable presence and
// </stream:stream>, then waits briefly for the server's closing tag before
// closing the connection. It returns when the reader has stopped.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		select {
		case <-c.done: // the server ended the stream already: nothing to say
		default:
			err = c.writeClose(`<presence type="unavailable"/>`)
		}
		select {
		case <-c.done:
		case <-time.After(closeWait):
		}
		_ = c.conn.Close()
		<-c.done
	})
	return err
}

// Kill drops the TCP connection without closing the stream, as a crashed
// client (or a lost network) would; the server notices only the EOF.
func (c *Client) Kill() {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		_ = c.conn.Close()
		<-c.done
	})
}

// writeClose sends prefix and </stream:stream> unless the closing tag was
// already sent; the stream is closed at most once from our side.
func (c *Client) writeClose(prefix string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return nil
	}
	c.closeSent = true
	return c.writeLocked(context.Background(), prefix+`</stream:stream>`)
}

func (c *Client) writeRaw(ctx context.Context, s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return fmt.Errorf("write: %w", ErrClosed)
	}
	return c.writeLocked(ctx, s)
}

func (c *Client) writeLocked(ctx context.Context, s string) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(writeTimeout)
	}
	_ = c.conn.SetWriteDeadline(deadline)
	if c.logf != nil {
		c.logf("xmpp %s SEND %s", c.bare, s)
	}
	if _, err := c.conn.Write([]byte(s)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// readLoop delivers stanzas until the stream ends, then records why.
func (c *Client) readLoop(dec *xml.Decoder) {
	defer c.endLife() // after done is closed: Done then Context
	defer close(c.done)
	err := c.read(dec)
	c.mu.Lock()
	switch {
	case c.streamErr != nil:
		c.err = c.streamErr
	case c.closing.Load():
		c.err = ErrClosed
	case errors.Is(err, ErrStreamClosed):
		c.err = ErrStreamClosed
	default:
		c.err = fmt.Errorf("%w: %w", ErrStreamClosed, err)
	}
	close(c.notify)
	c.notify = make(chan struct{})
	c.mu.Unlock()
	_ = c.conn.Close()
}

func (c *Client) read(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := c.readElement(dec, &t); err != nil {
				return err
			}
		case xml.EndElement:
			// the server closed the stream; answer in kind (RFC 6120 §4.4)
			_ = c.writeClose("")
			return ErrStreamClosed
		}
	}
}

func (c *Client) readElement(dec *xml.Decoder, start *xml.StartElement) error {
	if start.Name.Space == stanza.NSStream && start.Name.Local == "error" {
		se := decodeStreamError(dec, start)
		if c.logf != nil {
			c.logf("xmpp %s RECV %v", c.bare, se)
		}
		c.mu.Lock()
		c.streamErr = se
		c.mu.Unlock()
		return nil // the server closes the stream next
	}
	switch stanza.Kind(start.Name.Local) {
	case stanza.KindIQ, stanza.KindMessage, stanza.KindPresence:
	default:
		return dec.Skip() // e.g. stream management nonzas: not used here
	}
	var s stanza.Stanza
	if err := dec.DecodeElement(&s, start); err != nil {
		return fmt.Errorf("decode <%s>: %w", start.Name.Local, err)
	}
	if c.logf != nil {
		raw, _ := s.Marshal()
		c.logf("xmpp %s RECV %s", c.bare, raw)
	}
	c.dispatch(&s)
	return nil
}

// dispatch hands iq replies to SendIQ, answers what a real client answers
// by itself, and queues the rest (and those answered) for Expect.
func (c *Client) dispatch(s *stanza.Stanza) {
	c.mu.Lock()
	if s.Kind() == stanza.KindIQ && (s.Type == "result" || s.Type == "error") {
		if ch, ok := c.pending[s.ID]; ok {
			delete(c.pending, s.ID)
			c.mu.Unlock()
			ch <- s
			return
		}
	}
	autoSub := c.autoSubscribe
	handlers := c.handlers
	c.mu.Unlock()

	switch {
	case c.isRosterPush(s):
		// RFC 6121 §2.1.6: the client must acknowledge a roster push
		res := &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, ID: s.ID, Type: "result", To: s.From}
		_ = c.Send(res)
	case autoSub != "" && s.Kind() == stanza.KindPresence && s.Type == "subscribe" && jidDomain(s.From) == autoSub:
		_ = c.Presence(context.Background(), "subscribed", bareJID(s.From), "", "")
	default:
		for _, h := range handlers {
			if h(s) {
				return
			}
		}
	}

	c.mu.Lock()
	c.queue = append(c.queue, s)
	close(c.notify)
	c.notify = make(chan struct{})
	c.mu.Unlock()
}

// isRosterPush: an iq set with a roster query from our own account (no from,
// or our bare JID), per RFC 6121 §2.1.6; from anyone else it is spoofed.
func (c *Client) isRosterPush(s *stanza.Stanza) bool {
	if s.Kind() != stanza.KindIQ || s.Type != "set" {
		return false
	}
	if s.From != "" && s.From != c.bare {
		return false
	}
	name, ok := s.Element(nsRoster)
	return ok && name.Local == "query"
}

func bareJID(jid string) string {
	bare, _, _ := strings.Cut(jid, "/")
	return bare
}

func jidDomain(jid string) string {
	bare := bareJID(jid)
	if _, d, ok := strings.Cut(bare, "@"); ok {
		return d
	}
	return bare
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
