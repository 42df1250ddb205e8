package xmpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// Namespaces of c2s stream negotiation (RFC 6120 §5–7, RFC 3921 §3).
const (
	nsClient  = "jabber:client"
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
)

// features is what we read of <stream:features/>.
type features struct {
	StartTLS *struct {
		Required *struct{} `xml:"required"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
	Mechanisms []string  `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms>mechanism"`
	Bind       *struct{} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
	Session    *struct {
		Optional *struct{} `xml:"optional"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-session session"`
}

// negotiation is one c2s login in progress on one connection.
type negotiation struct {
	l   *Link
	c   *conn
	cl  *ClientLogin
	jid clientJID
	sr  *streamReader // nil until the first stream opens, and again after STARTTLS
	tls bool          // STARTTLS completed
}

// login negotiates a c2s stream on c up to a bound resource: STARTTLS per
// policy, SASL, the stream restart, bind and, if the server still requires
// it, the legacy session. It returns the reader positioned inside the
// final stream and the bound full JID. HandshakeTimeout bounds it all.
func (l *Link) login(ctx context.Context, c *conn) (*streamReader, string, error) {
	// Deadlines go on the TCP socket, which stays the same under TLS.
	raw := c.nc
	_ = raw.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout))
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()

	jid, err := parseClientJID(l.cfg.Client.JID)
	if err != nil {
		return nil, "", err
	}
	n := &negotiation{l: l, c: c, cl: l.cfg.Client, jid: jid}
	bound, err := n.run(ctx)
	if err != nil {
		if n.sr != nil {
			// Best effort, so the server logs a close rather than a reset.
			_, _ = c.nc.Write(streamClose)
		}
		return nil, "", err
	}
	if !stop() {
		return nil, "", ctx.Err()
	}
	_ = raw.SetDeadline(time.Time{})
	return n.sr, bound, nil
}

func (n *negotiation) run(ctx context.Context) (string, error) {
	f, err := n.open()
	if err != nil {
		return "", err
	}
	if f, err = n.secure(ctx, f); err != nil {
		return "", err
	}
	if err := n.authenticate(f.Mechanisms); err != nil {
		return "", err
	}
	// RFC 6120 §6.4.6: after SASL success both sides restart the stream.
	n.sr.restart()
	if f, err = n.open(); err != nil {
		return "", err
	}
	bound, err := n.bind(f)
	if err != nil {
		return "", err
	}
	// RFC 6121 dropped the session; old servers list it without
	// <optional/> and then still expect it.
	if f.Session != nil && f.Session.Optional == nil {
		if err := n.session(); err != nil {
			return "", err
		}
	}
	return bound, nil
}

// open writes our stream header and reads the server's header and
// features, on a new reader when there is none (first stream, after TLS).
func (n *negotiation) open() (*features, error) {
	if err := n.write(n.header()); err != nil {
		return nil, fmt.Errorf("write stream header: %w", err)
	}
	if n.sr == nil {
		n.sr = newStreamReader(activityReader{r: n.c.nc, last: &n.c.lastRead}, n.l.cfg.MaxStanzaSize)
		n.sr.ns = nsClient
	}
	if _, err := n.sr.streamStart(); err != nil {
		return nil, fmt.Errorf("read stream header: %w", err)
	}
	var f features
	name, err := n.sr.element(&f)
	if err != nil {
		return nil, fmt.Errorf("read stream features: %w", err)
	}
	if name.Space != stanza.NSStream || name.Local != "features" {
		return nil, fmt.Errorf("expected <stream:features/>, got <%s xmlns=%q>", name.Local, name.Space)
	}
	for i, m := range f.Mechanisms {
		f.Mechanisms[i] = strings.TrimSpace(m)
	}
	return &f, nil
}

// header is our stream header. Once TLS protects the stream it names us in
// 'from' (RFC 6120 §4.7.1); the JID was checked to need no escaping.
func (n *negotiation) header() []byte {
	from := ""
	if n.tls {
		from = ` from='` + n.jid.bare() + `'`
	}
	return []byte(`<?xml version='1.0'?><stream:stream xmlns='` + nsClient + `' xmlns:stream='` + stanza.NSStream +
		`' to='` + n.l.cfg.Domain + `'` + from + ` version='1.0'>`)
}

func (n *negotiation) write(b []byte) error {
	_, err := n.c.nc.Write(b)
	return err
}

// secure applies the TLS policy to the offered features and, when STARTTLS
// is to be used, upgrades the connection and returns the new features.
func (n *negotiation) secure(ctx context.Context, f *features) (*features, error) {
	switch {
	case n.cl.TLS == TLSDisabled && f.StartTLS != nil && f.StartTLS.Required != nil:
		return nil, errors.New("the server requires STARTTLS, but the TLS policy is disabled")
	case n.cl.TLS == TLSDisabled:
		return f, nil
	case f.StartTLS == nil && n.cl.TLS == TLSRequired:
		return nil, errTLSNotOffered
	case f.StartTLS == nil:
		return f, nil
	}
	if err := n.starttls(ctx); err != nil {
		return nil, fmt.Errorf("starttls: %w", err)
	}
	return n.open()
}

// starttls runs RFC 6120 §5.4.2–5.4.3: <starttls/>, <proceed/>, the TLS
// handshake; the caller restarts the stream over TLS.
func (n *negotiation) starttls(ctx context.Context) error {
	if err := n.write([]byte(`<starttls xmlns='` + nsTLS + `'/>`)); err != nil {
		return err
	}
	var ignored struct{}
	name, err := n.sr.element(&ignored)
	if err != nil {
		return err
	}
	if name.Space != nsTLS || name.Local != "proceed" {
		return fmt.Errorf("server answered <%s xmlns=%q>", name.Local, name.Space)
	}
	// Bytes after <proceed/> that arrived in clear would be taken as if
	// they came over TLS: an injection, never a legitimate server.
	if n.sr.buffered() > 0 {
		return errors.New("server sent data after <proceed/> before the TLS handshake")
	}
	cfg := &tls.Config{}
	if n.cl.TLSConfig != nil {
		cfg = n.cl.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = n.jid.domain
	}
	tc := tls.Client(n.c.nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	n.c.nc, n.sr, n.tls = tc, nil, true
	return nil
}
