package xmpp

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp/sasl"
)

func TestClientLoginMechanisms(t *testing.T) {
	for _, tc := range []struct {
		name           string
		startTLS       string
		policy         TLSPolicy
		offered        []string
		sigInChallenge bool
		wantMech       string
	}{
		{"scram-sha-256 preferred", "offer", TLSRequired, []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}, false, sasl.SCRAMSHA256},
		{"scram-sha-1", "require", TLSRequired, []string{"SCRAM-SHA-1", "PLAIN"}, false, sasl.SCRAMSHA1},
		{"signature in challenge", "offer", TLSOptional, []string{"SCRAM-SHA-256"}, true, sasl.SCRAMSHA256},
		{"plain over tls", "offer", TLSRequired, []string{"PLAIN"}, false, sasl.Plain},
		{"plain in clear when disabled", "offer", TLSDisabled, []string{"PLAIN"}, false, sasl.Plain},
		{"scram in clear when optional", "", TLSOptional, []string{"PLAIN", "SCRAM-SHA-1"}, false, sasl.SCRAMSHA1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newC2SServer(t)
			s.startTLS, s.mechs, s.sigInChallenge = tc.startTLS, tc.offered, tc.sigInChallenge
			h := newClientHarness(t, s, c2sJID+"/phone", func(c *Config) { c.Client.TLS = tc.policy })
			_, sc := startClient(t, h, s)
			wantTLS := tc.startTLS != "" && tc.policy != TLSDisabled
			if sc.mech != tc.wantMech || sc.tls != wantTLS {
				t.Fatalf("server saw mechanism %q tls=%v, want %q tls=%v", sc.mech, sc.tls, tc.wantMech, wantTLS)
			}
			if strings.HasPrefix(sc.mech, "SCRAM") && sc.gs2 != "n,," {
				t.Fatalf("gs2 header = %q, want n,,", sc.gs2)
			}
			// RFC 6120 §4.7.1: the client names itself once TLS is up.
			if wantFrom := map[bool]string{true: c2sJID}[wantTLS]; sc.from != wantFrom {
				t.Fatalf("stream header from = %q, want %q", sc.from, wantFrom)
			}
			if got := h.link.JID(); got != c2sJID+"/phone" || sc.resource != "phone" {
				t.Fatalf("JID() = %q, requested resource %q", got, sc.resource)
			}
			roundTrip(t, h, sc)
		})
	}
}

// roundTrip checks that stanzas flow both ways on a logged-in client link.
func roundTrip(t *testing.T, h *harness, sc *c2sConn) {
	t.Helper()
	ctx := context.Background()
	if err := h.link.Send(ctx, msg("", "bob@example.test", "hi")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := sc.nextStanza(t); got.Kind() != stanza.KindMessage || got.To != "bob@example.test" || got.From != "" {
		t.Fatalf("server got %+v", got)
	}
	sc.send(t, `<message from='bob@example.test/pc' to='`+sc.bound+`' type='chat'><body>yo</body></message>`)
	if got := waitFor(t, h.handled, "message"); got.From != "bob@example.test/pc" || got.XMLName.Space != nsClient {
		t.Fatalf("handler got %+v", got)
	}
}

func TestClientSTARTTLSVerifiesDomain(t *testing.T) {
	s := newC2SServer(t)
	s.startTLS = "require"
	// No RootCAs: the self-signed certificate must be refused.
	h := newClientHarness(t, s, c2sJID, func(c *Config) { c.Client.TLSConfig = nil })
	h.start(t)
	err := waitFor(t, h.connErrs, "connect error")
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
	// A ServerName of another domain must be refused too.
	s2 := newC2SServer(t)
	s2.startTLS = "offer"
	h2 := newClientHarness(t, s2, c2sJID, func(c *Config) { c.Client.TLSConfig.ServerName = "other.test" })
	h2.start(t)
	if err := waitFor(t, h2.connErrs, "connect error"); !strings.Contains(err.Error(), "other.test") {
		t.Fatalf("err = %v, want a name mismatch for other.test", err)
	}
}

func TestClientTLSPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		startTLS string
		mechs    []string
		policy   TLSPolicy
		want     string // substring of the connect error
		authFail bool
	}{
		{"required but not offered", "", []string{"SCRAM-SHA-1"}, TLSRequired, "does not offer STARTTLS", false},
		{"disabled but required by the server", "require", []string{"SCRAM-SHA-1"}, TLSDisabled, "requires STARTTLS", false},
		{"plain refused in clear", "", []string{"PLAIN"}, TLSOptional, "no usable SASL mechanism", true},
		{"nothing usable", "offer", []string{"DIGEST-MD5", "SCRAM-SHA-1-PLUS"}, TLSRequired, "no usable SASL mechanism", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newC2SServer(t)
			s.startTLS, s.mechs = tc.startTLS, tc.mechs
			h := newClientHarness(t, s, c2sJID, func(c *Config) { c.Client.TLS = tc.policy })
			h.start(t)
			err := waitFor(t, h.connErrs, "connect error")
			if !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrAuthFailed) != tc.authFail {
				t.Fatalf("err = %v, want %q (auth failure: %v)", err, tc.want, tc.authFail)
			}
			if tc.name == "required but not offered" && !errors.Is(err, errTLSNotOffered) {
				t.Fatalf("err = %v, want errTLSNotOffered", err)
			}
			if sc := s.nextConn(t); sc.mech != "" {
				t.Fatalf("client authenticated with %s despite the policy", sc.mech)
			}
		})
	}
}

func TestClientStreamErrorAtLogin(t *testing.T) {
	s := newC2SServer(t)
	s.streamError = "host-unknown"
	h := newClientHarness(t, s, c2sJID, nil)
	h.start(t)
	err := waitFor(t, h.connErrs, "connect error")
	var se *StreamError
	if !errors.As(err, &se) || se.Condition != "host-unknown" || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want stream error host-unknown", err)
	}
}

func TestClientWrongPassword(t *testing.T) {
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"} {
		t.Run(mech, func(t *testing.T) {
			s := newC2SServer(t)
			s.startTLS, s.mechs = "offer", []string{mech}
			h := newClientHarness(t, s, c2sJID, func(c *Config) {
				c.Client.Password = "wrong"
				c.BackoffMin, c.BackoffMax = 30*time.Millisecond, 30*time.Millisecond
			})
			h.start(t)
			err := waitFor(t, h.connErrs, "connect error")
			if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "not-authorized") ||
				!strings.Contains(err.Error(), "Invalid username or password") || !strings.Contains(err.Error(), mech) {
				t.Fatalf("err = %v, want ErrAuthFailed naming %s, not-authorized and the text", err, mech)
			}
			if sc := s.nextConn(t); sc.failure != "not-authorized" {
				t.Fatalf("server sent failure %q", sc.failure)
			}
			// Run retries with backoff like a component; the caller decides
			// to stop.
			s.nextConn(t)
			if h.link.Connected() || h.link.JID() != "" {
				t.Fatal("link up after a failed login")
			}
		})
	}
}

func TestClientRejectsWrongServerSignature(t *testing.T) {
	for _, inChallenge := range []bool{false, true} {
		s := newC2SServer(t)
		s.startTLS, s.badSignature, s.sigInChallenge = "offer", true, inChallenge
		h := newClientHarness(t, s, c2sJID, nil)
		h.start(t)
		err := waitFor(t, h.connErrs, "connect error")
		if !errors.Is(err, ErrAuthFailed) || !errors.Is(err, sasl.ErrServerSignature) {
			t.Fatalf("in challenge %v: err = %v, want ErrAuthFailed wrapping ErrServerSignature", inChallenge, err)
		}
		h.stop()
	}
}

func TestClientBind(t *testing.T) {
	t.Run("server assigns when none requested", func(t *testing.T) {
		s := newC2SServer(t)
		h := newClientHarness(t, s, c2sJID, nil)
		_, sc := startClient(t, h, s)
		if sc.resource != "" || h.link.JID() != c2sJID+"/srv-assigned" {
			t.Fatalf("requested %q, JID() = %q", sc.resource, h.link.JID())
		}
	})
	t.Run("server overrides the request", func(t *testing.T) {
		s := newC2SServer(t)
		s.assign = "x-"
		h := newClientHarness(t, s, c2sJID+"/phone", nil)
		_, sc := startClient(t, h, s)
		if sc.resource != "phone" || h.link.JID() != c2sJID+"/x-srv-assigned" {
			t.Fatalf("requested %q, JID() = %q", sc.resource, h.link.JID())
		}
	})
	for _, tc := range []struct {
		feature string
		want    bool
	}{{"required", true}, {"optional", false}, {"", false}} {
		t.Run("session "+tc.feature, func(t *testing.T) {
			s := newC2SServer(t)
			s.session = tc.feature
			h := newClientHarness(t, s, c2sJID+"/phone", nil)
			_, sc := startClient(t, h, s)
			if sc.session != tc.want {
				t.Fatalf("session established: %v, want %v", sc.session, tc.want)
			}
		})
	}
}

func TestClientOutboundChecks(t *testing.T) {
	s := newC2SServer(t)
	h := newClientHarness(t, s, c2sJID+"/phone", nil)
	_, sc := startClient(t, h, s)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		s    *stanza.Stanza
		ok   bool
	}{
		{"no from, no to", &stanza.Stanza{XMLName: xml.Name{Local: "presence"}}, true},
		{"from bare", msg(c2sJID, "bob@example.test", "a"), true},
		{"from full", msg(c2sJID+"/phone", "bob@example.test", "b"), true},
		{"from full, other case", msg("Alice@Example.Test/phone", "bob@example.test", "c"), true},
		{"from another resource", msg(c2sJID+"/tablet", "bob@example.test", "d"), false},
		{"from another user", msg("bob@example.test", "carol@example.test", "e"), false},
		{"from the domain", msg(c2sDomain, "bob@example.test", "f"), false},
		{"not a stanza", &stanza.Stanza{XMLName: xml.Name{Local: "handshake"}}, false},
		{"nil", nil, false},
	} {
		err := h.link.Send(ctx, tc.s)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: Send = %v", tc.name, err)
				continue
			}
			sc.nextStanza(t)
		} else if !errors.Is(err, ErrInvalidStanza) {
			t.Errorf("%s: Send = %v, want ErrInvalidStanza", tc.name, err)
		}
	}
}

func TestClientSendIQ(t *testing.T) {
	s := newC2SServer(t)
	h := newClientHarness(t, s, c2sJID+"/phone", nil)
	_, sc := startClient(t, h, s)
	ctx := context.Background()
	roster := func() *stanza.Stanza {
		return &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "get", Payload: []byte(`<query xmlns='jabber:iq:roster'/>`)}
	}
	// The account's server answers a request without 'to' with no 'from'
	// or from the bare JID (RFC 6120 §8.1.2.1, §10.3.3).
	for _, from := range []string{"", " from='" + c2sJID + "'", " from='ALICE@example.test'"} {
		done := sendIQAsync(ctx, h.link, roster())
		req := sc.nextStanza(t)
		if req.To != "" || req.From != "" {
			t.Fatalf("roster get went out as %+v", req)
		}
		sc.send(t, `<iq type='result' id='`+req.ID+`' to='`+sc.bound+`'`+from+`><query xmlns='jabber:iq:roster'><item jid='bob@example.test'/></query></iq>`)
		out := waitFor(t, done, "roster result")
		if out.err != nil || !strings.Contains(string(out.reply.Payload), "bob@example.test") {
			t.Fatalf("from %q: SendIQ = %+v, %v", from, out.reply, out.err)
		}
	}
	// Someone else cannot answer it by guessing the id.
	done := sendIQAsync(ctx, h.link, roster())
	req := sc.nextStanza(t)
	sc.send(t, `<iq type='result' id='`+req.ID+`' from='mallory@example.test/x'/>`)
	if got := waitFor(t, h.handled, "spoofed reply"); got.ID != req.ID {
		t.Fatalf("handler got %+v", got)
	}
	sc.send(t, `<iq type='result' id='`+req.ID+`'/>`)
	if out := waitFor(t, done, "real reply"); out.err != nil {
		t.Fatalf("SendIQ = %v", out.err)
	}
	// A request to the server itself, answered by the server.
	disco := iqRequest(c2sDomain)
	disco.From = ""
	done = sendIQAsync(ctx, h.link, disco)
	req = sc.nextStanza(t)
	sc.send(t, `<iq type='result' id='`+req.ID+`'/>`)
	if out := waitFor(t, done, "server reply"); out.err != nil {
		t.Fatalf("SendIQ to the server = %v", out.err)
	}
}

func TestClientKeepalivePing(t *testing.T) {
	s := newC2SServer(t)
	h := newClientHarness(t, s, c2sJID+"/phone", func(c *Config) { c.KeepAlive = 20 * time.Millisecond })
	_, sc := startClient(t, h, s)
	for {
		ev := sc.next(t)
		if ev.st == nil {
			continue
		}
		if ev.st.Kind() != stanza.KindIQ || ev.st.To != c2sDomain || ev.st.From != "" {
			t.Fatalf("watchdog sent %+v, want a ping to %s without from", ev.st, c2sDomain)
		}
		sc.send(t, `<iq type='result' id='`+ev.st.ID+`' from='`+c2sDomain+`'/>`)
		break
	}
	if !h.link.Connected() {
		t.Fatal("link down after an answered ping")
	}
}

func TestClientDialsSRVTargets(t *testing.T) {
	s := newC2SServer(t)
	_, port, _ := net.SplitHostPort(s.addr())
	p, _ := strconv.Atoi(port)
	h := newClientHarness(t, s, c2sJID, func(c *Config) { c.Addr = "" })
	var asked string
	h.link.lookupSRV = func(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
		asked = "_" + service + "._" + proto + "." + name
		return "", []*net.SRV{{Target: "127.0.0.1.", Port: uint16(p)}}, nil
	}
	startClient(t, h, s)
	if asked != "_xmpp-client._tcp.example.test" {
		t.Fatalf("looked up %q", asked)
	}
}

func TestClientAddrs(t *testing.T) {
	for _, tc := range []struct {
		name string
		srvs []*net.SRV
		err  error
		want string // joined addresses, or "error"
	}{
		{"no records", nil, errors.New("nxdomain"), "example.test:5222"},
		{"ordered targets then fallback", []*net.SRV{{Target: "a.example.test.", Port: 5223}, {Target: "b.example.test.", Port: 443}}, nil,
			"a.example.test:5223 b.example.test:443 example.test:5222"},
		{"fallback listed once", []*net.SRV{{Target: "example.test.", Port: 5222}}, nil, "example.test:5222"},
		{"records despite an error", []*net.SRV{{Target: "a.example.test.", Port: 5222}}, errors.New("one bad record"), "a.example.test:5222 example.test:5222"},
		{"service decidedly absent", []*net.SRV{{Target: ".", Port: 0}}, nil, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLink(Config{Client: &ClientLogin{JID: c2sJID, Password: "p"}}, HandlerFunc(func(context.Context, *stanza.Stanza) {}), nil)
			if err != nil {
				t.Fatal(err)
			}
			l.lookupSRV = func(context.Context, string, string, string) (string, []*net.SRV, error) { return "", tc.srvs, tc.err }
			addrs, err := l.clientAddrs(context.Background())
			got := strings.Join(addrs, " ")
			if err != nil {
				got = "error"
			}
			if got != tc.want {
				t.Fatalf("clientAddrs = %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestClientConfig(t *testing.T) {
	nop := HandlerFunc(func(context.Context, *stanza.Stanza) {})
	login := func(mut func(*ClientLogin)) Config {
		cl := ClientLogin{JID: "alice@example.test/phone", Password: "p"}
		if mut != nil {
			mut(&cl)
		}
		return Config{Client: &cl}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; empty: valid
	}{
		{"no addr, no secret", login(nil), ""},
		{"bare jid", login(func(c *ClientLogin) { c.JID = c2sJID }), ""},
		{"no local part", login(func(c *ClientLogin) { c.JID = "example.test" }), "want user@domain"},
		{"empty local part", login(func(c *ClientLogin) { c.JID = "@example.test" }), "want user@domain"},
		{"quote in local part", login(func(c *ClientLogin) { c.JID = "al'ice@example.test" }), "forbids"},
		{"empty resource", login(func(c *ClientLogin) { c.JID = "alice@example.test/" }), "empty resource"},
		{"bad domain", login(func(c *ClientLogin) { c.JID = "alice@exa mple.test" }), "not a bare domain"},
		{"no password", login(func(c *ClientLogin) { c.Password = "" }), "password is empty"},
		{"unknown policy", login(func(c *ClientLogin) { c.TLS = 7 }), "TLS policy"},
		{"bad addr", func() Config { c := login(nil); c.Addr = "nohost"; return c }(), "addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLink(tc.cfg, nop, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewLink = %v, want ok", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("NewLink = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	cfg := login(nil)
	l, err := NewLink(cfg, nop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.Domain != c2sDomain || l.cfg.ServerDomain != c2sDomain || l.cfg.Client == cfg.Client {
		t.Fatalf("client defaults: domain %q server %q, login copied: %v", l.cfg.Domain, l.cfg.ServerDomain, l.cfg.Client != cfg.Client)
	}
	if l.JID() != "" {
		t.Fatalf("JID() = %q before Run", l.JID())
	}
}

func TestSASLEncoding(t *testing.T) {
	if saslEncode(nil) != "=" || saslEncode([]byte("a")) != base64.StdEncoding.EncodeToString([]byte("a")) {
		t.Fatal("saslEncode")
	}
	for _, in := range []string{"", "=", " = "} {
		if b, err := saslDecode(in); err != nil || len(b) != 0 {
			t.Fatalf("saslDecode(%q) = %q, %v", in, b, err)
		}
	}
	if _, err := saslDecode("%%"); err == nil {
		t.Fatal("saslDecode accepted bad base64")
	}
}
