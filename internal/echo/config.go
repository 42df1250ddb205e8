package echo

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"fargo.dev/fargo/internal/sip"
)

// Defaults, see Config.
const (
	DefaultListen  = "127.0.0.1:5080"
	DefaultUser    = "echo"
	DefaultMaxCall = 5 * time.Minute
)

// Config configures a Service. Zero fields take the documented defaults.
type Config struct {
	// Listen is the IP:port of the SIP listeners (UDP and TCP). RTP
	// sockets are opened on the same IP. Default DefaultListen.
	Listen string
	// ContactHost is host[:port] for Contact and Via, and (when it is an
	// IP) the address in the SDP: what callers reach us at. Default the
	// listening address; required when listening on a wildcard address.
	ContactHost string
	// User is the one Request-URI user the echo answers. Default "echo".
	User string
	// MaxCall bounds a call: the echo sends BYE when it is reached, so a
	// forgotten call does not hold a port forever. Default 5 minutes.
	MaxCall time.Duration
	// Register, if its AOR is set, keeps the echo registered with a
	// registrar while it runs (and unregistered when it stops).
	Register Account
	// Registrar, if it has accounts, makes the echo their registrar too
	// (registrar.go).
	Registrar Registrar
}

// Account is the optional registration of the echo.
type Account struct {
	AOR       string // "echo@sip.example.org"
	AuthUser  string // digest user name; default the AOR's user part
	Password  string
	Registrar string // host[:port]; default the AOR's host
}

func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if c.MaxCall <= 0 {
		c.MaxCall = DefaultMaxCall
	}
	if len(c.Registrar.Accounts) > 0 && c.Registrar.Domain == "" {
		return c, errors.New("echo: registrar accounts need a domain")
	}
	if _, err := netip.ParseAddrPort(c.Listen); err != nil {
		return c, fmt.Errorf("echo: listen address %q must be IP:port: %w", c.Listen, err)
	}
	return c, nil
}

// mediaAddrs picks the IP the RTP sockets bind to and the one the SDP
// announces.
func (c Config) mediaAddrs() (bind netip.Addr, announce string, err error) {
	ap, err := netip.ParseAddrPort(c.Listen)
	if err != nil {
		return bind, "", fmt.Errorf("echo: listen address: %w", err)
	}
	bind = ap.Addr()
	if c.ContactHost != "" {
		host := c.ContactHost
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			return bind, ip.String(), nil
		}
	}
	if bind.IsUnspecified() {
		return bind, "", errors.New("echo: listening on a wildcard address needs an IP contact host for the SDP")
	}
	return bind, bind.String(), nil
}

// sipAccount is the registration as internal/sip takes it: our Contact's
// user part is the echo's user, so what the registrar routes to us
// arrives addressed to it.
func (c Config) sipAccount() sip.Account {
	return sip.Account{
		AOR:          c.Register.AOR,
		AuthUser:     c.Register.AuthUser,
		Password:     c.Register.Password,
		Registrar:    c.Register.Registrar,
		ContactToken: c.User,
	}
}
