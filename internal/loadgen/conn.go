package loadgen

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp/sasl"
)

// Why a connection of our own rather than internal/xmpp's client mode: a
// simulated user must cost as little as possible in the load generator,
// which shares the machine with the servers under test. This one is a
// single reader goroutine, a 2 KiB read buffer and synchronous writes
// (no queue, no writer goroutine, no keepalive, no reconnect): about
// 15 KiB per user, so 100,000 users take ~1.5 GiB. It speaks only what
// the lab servers accept on loopback: no TLS, SASL PLAIN, resource bind.

const (
	nsClient   = "jabber:client"
	nsStream   = "http://etherx.jabber.org/streams"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsRegister = "jabber:iq:register"

	readBufSize  = 2048
	writeTimeout = 10 * time.Second
)

// errConflict is an in-band registration refused because the account
// exists: for the load generator that is as good as created.
var errConflict = errors.New("account exists")

// conn is one simulated user's c2s stream.
type conn struct {
	nc  net.Conn
	br  *bufio.Reader
	dec *xml.Decoder // the bound stream's decoder, read by readLoop only
	jid string       // full JID after bind

	wmu sync.Mutex
}

// dialSpec says where and as whom to connect.
type dialSpec struct {
	addr     string     // c2s address
	local    netip.Addr // source address (spreads ports over 127.0.0.0/8); zero: any
	domain   string
	user     string
	password string
	resource string
	create   bool // in-band registration (XEP-0077) before authenticating
}

// dial opens, optionally registers, authenticates and binds a stream. The
// context bounds the whole handshake.
func dial(ctx context.Context, sp dialSpec) (*conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if sp.local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: sp.local.AsSlice()}
	}
	nc, err := d.DialContext(ctx, "tcp", sp.addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", sp.addr, err)
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, readBufSize)}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	err = c.handshake(sp)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("%s@%s: %w", sp.user, sp.domain, err)
	}
	return c, nil
}

func (c *conn) handshake(sp dialSpec) error {
	dec, err := c.openStream(sp.domain)
	if err != nil {
		return err
	}
	if sp.create {
		if err := c.register(dec, sp.user, sp.password); err != nil && !errors.Is(err, errConflict) {
			return err
		}
	}
	plain, err := sasl.New(sasl.Plain, sp.user, sp.password)
	if err != nil {
		return err
	}
	first, err := plain.Start()
	if err != nil {
		return err
	}
	auth := base64.StdEncoding.EncodeToString(first)
	if err := c.write(`<auth xmlns='` + nsSASL + `' mechanism='PLAIN'>` + auth + `</auth>`); err != nil {
		return err
	}
	start, err := nextStart(dec)
	if err != nil {
		return fmt.Errorf("sasl: %w", err)
	}
	if start.Name.Local != "success" {
		_ = dec.Skip()
		return fmt.Errorf("sasl PLAIN: %s", start.Name.Local)
	}
	if err := dec.Skip(); err != nil {
		return fmt.Errorf("sasl: %w", err)
	}
	if dec, err = c.openStream(sp.domain); err != nil {
		return err
	}
	res, err := c.setupIQ(dec, `<iq type='set' id='bind'><bind xmlns='`+nsBind+`'><resource>`+xmlEscape(sp.resource)+`</resource></bind></iq>`)
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	var b struct {
		JID string `xml:"jid"`
	}
	if ok, err := res.Decode(nsBind, "bind", &b); !ok || err != nil || b.JID == "" {
		return fmt.Errorf("bind: unexpected answer %s", res.Payload)
	}
	c.jid, c.dec = b.JID, dec
	return nil
}

// openStream writes a stream header and reads the server's header and
// features (which the lab servers make predictable: PLAIN is offered).
func (c *conn) openStream(domain string) (*xml.Decoder, error) {
	if err := c.write(`<?xml version='1.0'?><stream:stream to='` + domain + `' version='1.0' xmlns='` + nsClient + `' xmlns:stream='` + nsStream + `'>`); err != nil {
		return nil, err
	}
	// A fresh decoder per stream: the old one's namespace stack belongs to
	// the previous stream. bufio.Reader is an io.ByteReader, so the
	// decoder adds no buffer of its own and nothing read ahead is lost.
	dec := xml.NewDecoder(c.br)
	start, err := nextStart(dec)
	if err != nil || start.Name.Local != "stream" {
		return nil, fmt.Errorf("stream header: %v %v", start.Name, err)
	}
	if start, err = nextStart(dec); err != nil {
		return nil, fmt.Errorf("stream features: %w", err)
	}
	if start.Name.Local != "features" {
		return nil, fmt.Errorf("stream: expected features, got %s", start.Name.Local)
	}
	return dec, dec.Skip()
}

// register creates the account with XEP-0077 before authentication.
func (c *conn) register(dec *xml.Decoder, user, password string) error {
	res, err := c.setupIQ(dec, `<iq type='set' id='reg'><query xmlns='`+nsRegister+`'><username>`+xmlEscape(user)+
		`</username><password>`+xmlEscape(password)+`</password></query></iq>`)
	if err != nil {
		return fmt.Errorf("in-band registration: %w", err)
	}
	if res.Type == "error" {
		if e := stanza.ParseError(res); e != nil && e.Condition == stanza.Conflict {
			return errConflict
		}
		return fmt.Errorf("in-band registration refused: %s", res.Payload)
	}
	return nil
}

// setupIQ writes an iq during the handshake and decodes the answer.
func (c *conn) setupIQ(dec *xml.Decoder, iq string) (*stanza.Stanza, error) {
	if err := c.write(iq); err != nil {
		return nil, err
	}
	start, err := nextStart(dec)
	if err != nil {
		return nil, err
	}
	var s stanza.Stanza
	if err := dec.DecodeElement(&s, &start); err != nil {
		return nil, err
	}
	if s.Kind() != stanza.KindIQ {
		return nil, fmt.Errorf("expected iq, got %s", s.Kind())
	}
	return &s, nil
}

// readLoop hands every stanza to h until the stream ends; it returns the
// reason (io.EOF after a clean close).
func (c *conn) readLoop(h func(*stanza.Stanza)) error {
	dec := c.dec
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "error" && t.Name.Space == nsStream {
				return errors.New("stream error from server")
			}
			s := new(stanza.Stanza)
			if err := dec.DecodeElement(s, &t); err != nil {
				return err
			}
			h(s)
		case xml.EndElement:
			if t.Name.Local == "stream" {
				return io.EOF
			}
		}
	}
}

// write sends raw XML; writes from many goroutines are serialised.
func (c *conn) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := io.WriteString(c.nc, s)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// close ends the stream politely and closes the socket.
func (c *conn) close() {
	_ = c.write(`</stream:stream>`)
	_ = c.nc.Close()
}

func nextStart(dec *xml.Decoder) (xml.StartElement, error) {
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

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", `"`, "&quot;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
