package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Config configures a UA. Zero durations take the defaults documented on
// each field.
type Config struct {
	// ListenAddr is the IP:port of the UDP and TCP listeners, e.g.
	// "127.0.0.1:5070". Port 0 picks one free port for both.
	ListenAddr string
	// ContactHost is the host[:port] put in Contact and Via; the address
	// registrars and peers reach us at (a public IP behind 1:1 NAT).
	// Default: the listening address. Without a port, the listening port.
	ContactHost string
	// UserAgent is sent as User-Agent on requests and Server on responses.
	UserAgent string
	// RegisterExpiry is the Expires requested in REGISTER. Default 3600s.
	RegisterExpiry time.Duration
	// RequestTimeout bounds one Register call including its digest and 423
	// retries. Default 32s (RFC 3261 Timer F).
	RequestTimeout time.Duration
	// RetryMin and RetryMax bound the back-off after transient failures
	// (timeout, transport errors, 408, 480, 5xx). Default 5s and 5m.
	RetryMin, RetryMax time.Duration
	// AuthRetryMin and AuthRetryMax bound the back-off after authentication
	// failures and other rejections: providers lock accounts that hammer
	// them with bad credentials. Default 5m and 1h.
	AuthRetryMin, AuthRetryMax time.Duration
	// TLSConfig is used for accounts with transport tls. Nil: system roots,
	// TLS 1.2 or later, server name from the registrar or proxy host.
	TLSConfig *tls.Config
	// InviteTimeout is how long an outbound INVITE waits for a first
	// response before the call fails with 408 (RFC 3261 Timer B; a
	// provisional response stops it, after that the callee's proxy bounds
	// the ringing). sipgo's own Timer B of 32s still applies, so longer
	// values change nothing. Default 32s.
	InviteTimeout time.Duration
	// MinSE is the shortest session interval (RFC 4028 Min-SE) the UA asks
	// for and accepts; whole seconds. Default 90s, the RFC's floor.
	MinSE time.Duration

	// Knobs only tests turn; zero takes the RFC values.
	t1x64        time.Duration                  // 64*T1: wait for the ACK of our 2xx, or the 487 after our CANCEL
	ringRepeat   time.Duration                  // re-send 180 while unanswered (60s)
	offerTimeout time.Duration                  // bound of CallHandler.Offer (5s)
	glareWait    func(owner bool) time.Duration // back-off after 491 (RFC 3261 §14.1)
}

// Defaults, see Config.
const (
	DefaultRegisterExpiry = 3600 * time.Second
	DefaultRequestTimeout = 32 * time.Second
	DefaultRetryMin       = 5 * time.Second
	DefaultRetryMax       = 5 * time.Minute
	DefaultAuthRetryMin   = 5 * time.Minute
	DefaultAuthRetryMax   = time.Hour
	DefaultInviteTimeout  = 32 * time.Second
	DefaultMinSE          = 90 * time.Second
	// DefaultSessionExpires is the session interval an outbound call asks
	// for when InviteRequest.SessionExpires is zero (RFC 4028 §4).
	DefaultSessionExpires = 1800 * time.Second
)

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.ListenAddr == "" {
		return c, errors.New("sip: config: listen address is empty")
	}
	ap, err := netip.ParseAddrPort(c.ListenAddr)
	if err != nil {
		// An IP literal keeps the listener deterministic: a host name could
		// resolve to several addresses or none.
		return c, fmt.Errorf("sip: config: listen address %q must be IP:port: %w", c.ListenAddr, err)
	}
	if ap.Addr().IsUnspecified() && c.ContactHost == "" {
		return c, errors.New("sip: config: contact host is required when listening on a wildcard address")
	}
	if c.ContactHost != "" {
		if _, _, err := splitHostPort(c.ContactHost); err != nil {
			return c, fmt.Errorf("sip: config: contact host %q: %w", c.ContactHost, err)
		}
	}
	if c.UserAgent == "" {
		c.UserAgent = "fargo"
	}
	if hasCtl(c.UserAgent) {
		return c, errors.New("sip: config: user agent contains control characters")
	}
	setDefault(&c.RegisterExpiry, DefaultRegisterExpiry)
	setDefault(&c.RequestTimeout, DefaultRequestTimeout)
	setDefault(&c.RetryMin, DefaultRetryMin)
	setDefault(&c.RetryMax, DefaultRetryMax)
	setDefault(&c.AuthRetryMin, DefaultAuthRetryMin)
	setDefault(&c.AuthRetryMax, DefaultAuthRetryMax)
	setDefault(&c.InviteTimeout, DefaultInviteTimeout)
	setDefault(&c.MinSE, DefaultMinSE)
	setDefault(&c.t1x64, 64*sipmsg.T1)
	setDefault(&c.ringRepeat, time.Minute)
	setDefault(&c.offerTimeout, 5*time.Second)
	if c.glareWait == nil {
		c.glareWait = glareWait
	}
	if c.MinSE < time.Second || c.MinSE%time.Second != 0 {
		return c, errors.New("sip: config: MinSE must be whole seconds, at least 1s")
	}
	if c.RegisterExpiry < time.Second {
		return c, errors.New("sip: config: register expiry must be at least 1s")
	}
	if c.RetryMax < c.RetryMin || c.AuthRetryMax < c.AuthRetryMin {
		return c, errors.New("sip: config: retry maximum below minimum")
	}
	return c, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port". A missing
// port is 0. Unlike net.SplitHostPort it accepts a bare host.
func splitHostPort(s string) (host string, port int, err error) {
	if s == "" {
		return "", 0, errors.New("empty address")
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("bad port %q", p)
		}
		if h == "" || hasCtl(h) {
			return "", 0, errors.New("empty or invalid host")
		}
		return h, n, nil
	}
	if s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	if hasCtl(s) || containsAny(s, " <>;,\"@[]") {
		return "", 0, fmt.Errorf("invalid host %q", s)
	}
	if _, err := netip.ParseAddr(s); err != nil && containsAny(s, ":") {
		return "", 0, fmt.Errorf("invalid host %q", s)
	}
	return s, 0, nil
}

// hostPort joins host and port for SIP, bracketing IPv6 literals; port 0 is
// left out.
func hostPort(host string, port int) string {
	if port == 0 {
		if containsAny(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
