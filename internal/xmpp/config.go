package xmpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Defaults applied by NewLink to zero Config fields.
const (
	DefaultQueueSize        = 4096
	DefaultIQTimeout        = 30 * time.Second
	DefaultBackoffMin       = time.Second
	DefaultBackoffMax       = 60 * time.Second
	DefaultDialTimeout      = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultKeepAlive        = 60 * time.Second
	DefaultMaxStanzaSize    = 1 << 20

	// minStanzaSize keeps the limit above the size of a stream header and
	// an ordinary presence, so a typo cannot make every connection fail.
	minStanzaSize = 1024
)

// Config configures a Link. Zero values take the defaults above.
type Config struct {
	Addr   string // TCP address of the server's component (or c2s) port, e.g. "127.0.0.1:5347"
	Domain string // component JID, e.g. "sip.example.test"; for a client, the server's domain (stream 'to')
	Secret string // shared secret of the XEP-0114 handshake

	// Client, when set, makes the link an XMPP client connection (c2s,
	// RFC 6120) logging in as Client.JID; nil: component link (XEP-0114).
	// With Client set, Domain defaults to the JID's domain, Secret is not
	// used, and Addr may be empty: it is then resolved with DNS SRV
	// _xmpp-client._tcp.<domain>, falling back to <domain>:5222.
	Client *ClientLogin

	// ServerDomain is the target of the XEP-0199 keepalive ping. Default:
	// for a component, Domain without its first label ("sip.example.test"
	// → "example.test"), which is how components are usually named under
	// their server; for a client, the JID's domain.
	ServerDomain string

	QueueSize int           // outbound queue capacity, default 4096
	IQTimeout time.Duration // default 30s

	// Reconnect backoff: exponential from BackoffMin up to BackoffMax with
	// full jitter above BackoffMin, reset once a connection stayed up for
	// stableAfter. BackoffMin is a floor so that a server refusing us
	// (conflict, not-authorized) is never hammered.
	BackoffMin, BackoffMax time.Duration

	// DialTimeout bounds one TCP connect; HandshakeTimeout bounds the
	// component handshake, or a client's whole login (STARTTLS, SASL, bind,
	// session). Default 10s each.
	DialTimeout, HandshakeTimeout time.Duration

	// WriteTimeout bounds one flush to the socket, so a server that stops
	// reading costs at most this long before the link is recycled. Default 10s.
	WriteTimeout time.Duration

	// KeepAlive is the idle interval after which a whitespace keepalive is
	// written; after 3×KeepAlive without reading anything the server is
	// pinged and the link recycled if it does not answer within IQTimeout.
	// Default 60s; negative disables both.
	KeepAlive time.Duration

	// MaxStanzaSize caps one inbound top-level element in bytes; a bigger
	// one closes the stream with <policy-violation/>. Default 1 MiB.
	MaxStanzaSize int64

	// OnConnect is called in its own goroutine after every successful
	// handshake; ctx ends when that connection ends. Run waits for it to
	// return before returning itself.
	OnConnect func(ctx context.Context)
	// OnDisconnect is called from Run when an established connection ends;
	// err is nil after a graceful close. It must return quickly.
	OnDisconnect func(err error)
	// OnConnectError is called from Run when an attempt fails before the
	// handshake or login completed (dial error, *StreamError such as
	// conflict or not-authorized, an error wrapping ErrAuthFailed, timeout).
	// Run backs off and retries regardless; cancel its ctx to stop. It
	// must return quickly.
	OnConnectError func(err error)
}

// withDefaults returns c with zero fields replaced by the defaults.
func (c Config) withDefaults() Config {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxStanzaSize == 0 {
		c.MaxStanzaSize = DefaultMaxStanzaSize
	}
	setDur(&c.IQTimeout, DefaultIQTimeout)
	setDur(&c.BackoffMin, DefaultBackoffMin)
	setDur(&c.BackoffMax, DefaultBackoffMax)
	setDur(&c.DialTimeout, DefaultDialTimeout)
	setDur(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDur(&c.WriteTimeout, DefaultWriteTimeout)
	setDur(&c.KeepAlive, DefaultKeepAlive)
	if c.Client != nil {
		cl := *c.Client // never write through the caller's pointer
		c.Client = &cl
		if c.Domain == "" {
			c.Domain = jidDomain(cl.JID)
		}
		if c.ServerDomain == "" {
			c.ServerDomain = jidDomain(cl.JID)
		}
	}
	if c.ServerDomain == "" {
		c.ServerDomain = parentDomain(c.Domain)
	}
	return c
}

// parentDomain strips the first label of a domain, or returns it unchanged
// when it has a single label.
func parentDomain(d string) string {
	if _, rest, ok := strings.Cut(d, "."); ok && rest != "" {
		return rest
	}
	return d
}

// validate reports every problem of a defaulted config at once, so an
// operator fixes the file in one go.
func (c Config) validate() error {
	var errs []error
	if c.Client != nil {
		errs = append(errs, c.Client.validate()...)
	}
	if c.Addr == "" {
		if c.Client == nil {
			errs = append(errs, errors.New("addr is empty"))
		}
	} else if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	}
	if err := checkDomain("domain", c.Domain); err != nil {
		errs = append(errs, err)
	}
	if err := checkDomain("server domain", c.ServerDomain); err != nil {
		errs = append(errs, err)
	}
	if c.Secret == "" && c.Client == nil {
		errs = append(errs, errors.New("secret is empty"))
	}
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("queue size %d must be at least 1", c.QueueSize))
	}
	if c.MaxStanzaSize < minStanzaSize {
		errs = append(errs, fmt.Errorf("max stanza size %d must be at least %d", c.MaxStanzaSize, minStanzaSize))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"iq timeout", c.IQTimeout}, {"backoff min", c.BackoffMin}, {"backoff max", c.BackoffMax},
		{"dial timeout", c.DialTimeout}, {"handshake timeout", c.HandshakeTimeout},
		{"write timeout", c.WriteTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", d.name, d.v))
		}
	}
	if c.BackoffMin > c.BackoffMax {
		errs = append(errs, fmt.Errorf("backoff min %v exceeds backoff max %v", c.BackoffMin, c.BackoffMax))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("xmpp: invalid config: %w", err)
	}
	return nil
}

// checkDomain rejects what cannot be a bare domain JID; it is written into
// the stream header, so it must not need escaping either.
func checkDomain(what, d string) error {
	if d == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if strings.ContainsAny(d, "@/'\"<>& \t\r\n") {
		return fmt.Errorf("%s %q is not a bare domain", what, d)
	}
	return nil
}
