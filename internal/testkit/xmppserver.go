package testkit

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// The lab XMPP servers' fixed identity (the scripts' defaults).
const (
	XMPPDomain      = "example.test"
	ComponentDomain = "sip.example.test"
	ComponentSecret = "sipsecret"
)

// loginTimeout bounds XMPPServer.Login.
const loginTimeout = 30 * time.Second

// xmppUsers are the accounts both scripts create (PROSODY_USERS/EJABBERD_USERS).
func xmppUsers() map[string]User {
	users := map[string]User{}
	for _, u := range []User{{Name: "alice", Password: "alicepass"}, {Name: "bob", Password: "bobpass"}, {Name: "carol", Password: "carolpass"}} {
		u.Address = u.Name + "@" + XMPPDomain
		users[u.Name] = u
	}
	return users
}

// ProsodyConfig chooses the ports of a Prosody instance; all must be set.
type ProsodyConfig struct {
	C2SPort, ComponentPort, HTTPPort, HTTPSPort int
	// Env adds KEY=value settings for scripts/peers/prosody.sh
	// (e.g. PROSODY_LOGLEVEL=debug).
	Env []string
}

// EjabberdConfig chooses the ports of an ejabberd instance; all must be set.
type EjabberdConfig struct {
	C2SPort, ComponentPort, HTTPPort, DistPort int
	// Env adds KEY=value settings for scripts/peers/ejabberd.sh.
	Env []string
}

// XMPPServer is a running lab XMPP server (Prosody or ejabberd) with the
// gateway's component domain configured. It is stopped when the test ends.
type XMPPServer struct {
	Name            string // "prosody" or "ejabberd"
	C2SAddr         string // 127.0.0.1:port of client connections
	ComponentAddr   string // 127.0.0.1:port of XEP-0114 component connections
	HTTPAddr        string // 127.0.0.1:port of BOSH (/http-bind) and WebSocket (/xmpp-websocket)
	Domain          string // "example.test"
	ComponentDomain string // "sip.example.test"
	Secret          string // the component's XEP-0114 secret
	Users           map[string]User
	RunDir          string // config, data and logs of this instance

	p *peer
}

// StartProsody starts Prosody 0.12 on the configured loopback ports.
func StartProsody(t testing.TB, cfg ProsodyConfig) *XMPPServer {
	t.Helper()
	requirePeer(t, "prosody", "prosody", "prosodyctl", "setpriv", "openssl", "ss")
	env := append([]string{
		"PROSODY_C2S_PORT=" + strconv.Itoa(cfg.C2SPort),
		"PROSODY_COMPONENT_PORT=" + strconv.Itoa(cfg.ComponentPort),
		"PROSODY_HTTP_PORT=" + strconv.Itoa(cfg.HTTPPort),
		"PROSODY_HTTPS_PORT=" + strconv.Itoa(cfg.HTTPSPort),
	}, cfg.Env...)
	p := newPeer(t, "prosody", env, []int{cfg.C2SPort, cfg.ComponentPort, cfg.HTTPPort, cfg.HTTPSPort}, nil,
		"prosody/prosody.log", "prosody/stdout.log")
	return startXMPP(t, p, cfg.C2SPort, cfg.ComponentPort, cfg.HTTPPort)
}

// StartEjabberd starts ejabberd 23.01 on the configured loopback ports
// (DistPort is the Erlang distribution port; no epmd is used).
func StartEjabberd(t testing.TB, cfg EjabberdConfig) *XMPPServer {
	t.Helper()
	requirePeer(t, "ejabberd", "ejabberdctl", "openssl", "ss")
	env := append([]string{
		"EJABBERD_C2S_PORT=" + strconv.Itoa(cfg.C2SPort),
		"EJABBERD_COMPONENT_PORT=" + strconv.Itoa(cfg.ComponentPort),
		"EJABBERD_HTTP_PORT=" + strconv.Itoa(cfg.HTTPPort),
		"EJABBERD_DIST_PORT=" + strconv.Itoa(cfg.DistPort),
	}, cfg.Env...)
	p := newPeer(t, "ejabberd", env, []int{cfg.C2SPort, cfg.ComponentPort, cfg.HTTPPort, cfg.DistPort}, nil,
		"ejabberd/logs/ejabberd.log", "ejabberd/logs/error.log", "ejabberd/ctl.log")
	return startXMPP(t, p, cfg.C2SPort, cfg.ComponentPort, cfg.HTTPPort)
}

func startXMPP(t testing.TB, p *peer, c2s, comp, http int) *XMPPServer {
	t.Helper()
	s := &XMPPServer{
		Name:            p.name,
		C2SAddr:         addr(c2s),
		ComponentAddr:   addr(comp),
		HTTPAddr:        addr(http),
		Domain:          XMPPDomain,
		ComponentDomain: ComponentDomain,
		Secret:          ComponentSecret,
		Users:           xmppUsers(),
		RunDir:          p.runDir(),
		p:               p,
	}
	p.start(t)
	return s
}

// Start starts the server again after Stop (no-op while it runs).
// Accounts and rosters survive a stop.
func (s *XMPPServer) Start(t testing.TB) { t.Helper(); s.p.start(t) }

// Stop stops the server; every c2s and component connection drops.
func (s *XMPPServer) Stop(t testing.TB) { t.Helper(); s.p.stop(t) }

// Restart stops and starts the server, as an operator's restart would.
func (s *XMPPServer) Restart(t testing.TB) {
	t.Helper()
	s.p.stop(t)
	s.p.start(t)
}

// Login logs user ("alice", "bob", "carol") in over c2s, failing the test
// if that does not work, and closes the client when the test ends. The
// client's traffic goes to t.Logf (shown for failed tests or with -v);
// pass Logf(nil) to silence it.
func (s *XMPPServer) Login(t testing.TB, user string, opts ...Option) *Client {
	t.Helper()
	u, ok := s.Users[user]
	if !ok {
		t.Fatalf("%s: no user %q", s.Name, user)
	}
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	c, err := Dial(ctx, s.C2SAddr, u.Address, u.Password, append([]Option{Logf(t.Logf)}, opts...)...)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
