package xmpp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
	"fargo.dev/fargo/internal/xmpp"
)

// These tests log client links in to the lab's real Prosody (skipped
// without it on a developer's machine, fatal under CI=true, like every
// peer test). Ports 25500–25599 are this package's.
var prosodyPorts = testkit.ProsodyConfig{C2SPort: 25522, ComponentPort: 25547, HTTPPort: 25580, HTTPSPort: 25581}

func TestClientLinkProsody(t *testing.T) {
	srv := testkit.StartProsody(t, prosodyPorts)
	t.Run("clear", func(t *testing.T) {
		alice := startLink(t, srv, "alice", xmpp.TLSDisabled, nil)
		bob := startLink(t, srv, "bob", xmpp.TLSDisabled, nil)
		exchange(t, alice, bob)
		// The test kit's client shares the sasl package: it logs in with
		// SCRAM-SHA-1 and PLAIN and hears the link.
		for _, mech := range []string{testkit.MechSCRAMSHA1, testkit.MechPLAIN} {
			carol := srv.Login(t, "carol", testkit.Mechanism(mech), testkit.Resource(mech))
			m := &stanza.Stanza{XMLName: xml.Name{Local: "message"}, Type: "chat", To: carol.JID(), Payload: []byte("<body>" + mech + "</body>")}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := alice.l.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			if _, err := carol.Expect(ctx, func(s *stanza.Stanza) bool {
				return s.From == alice.l.JID() && strings.Contains(string(s.Payload), mech)
			}); err != nil {
				t.Fatalf("test kit client (%s): %v", mech, err)
			}
			cancel()
		}
	})
	t.Run("starttls", func(t *testing.T) {
		// The lab's certificate is self-signed for example.test: trusting
		// it alone checks that ServerName defaults to the JID's domain.
		pem, err := os.ReadFile(filepath.Join(srv.RunDir, "certs", srv.Domain+".crt"))
		if err != nil {
			t.Fatalf("lab certificate: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("lab certificate: no PEM certificate")
		}
		var handshakes atomic.Int32
		verified := &tls.Config{RootCAs: pool, VerifyConnection: func(tls.ConnectionState) error {
			handshakes.Add(1)
			return nil
		}}
		alice := startLink(t, srv, "alice", xmpp.TLSRequired, verified)
		bob := startLink(t, srv, "bob", xmpp.TLSRequired, &tls.Config{InsecureSkipVerify: true})
		if handshakes.Load() == 0 {
			t.Fatal("alice's link came up without a TLS handshake")
		}
		exchange(t, alice, bob)
	})
	t.Run("wrong password", func(t *testing.T) {
		errs := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := xmpp.Config{
			Addr:   srv.C2SAddr,
			Client: &xmpp.ClientLogin{JID: "carol@" + srv.Domain, Password: "wrong", TLS: xmpp.TLSDisabled},
			// A caller that gives up on a refused password, as fargo echo does.
			OnConnectError: func(err error) {
				if errors.Is(err, xmpp.ErrAuthFailed) {
					cancel()
				}
				select {
				case errs <- err:
				default:
				}
			},
		}
		l, err := xmpp.NewLink(cfg, xmpp.HandlerFunc(func(context.Context, *stanza.Stanza) {}), nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		select {
		case err := <-errs:
			if !errors.Is(err, xmpp.ErrAuthFailed) || !strings.Contains(err.Error(), "not-authorized") {
				t.Fatalf("err = %v, want ErrAuthFailed not-authorized", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no connect error")
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})
}

// clientLink is a running client link and what its handler received.
type clientLink struct {
	l  *xmpp.Link
	in chan *stanza.Stanza
}

// startLink logs user in and waits until the link is up; it is stopped
// when the test ends.
func startLink(t *testing.T, srv *testkit.XMPPServer, user string, policy xmpp.TLSPolicy, tc *tls.Config) *clientLink {
	t.Helper()
	u := srv.Users[user]
	c := &clientLink{in: make(chan *stanza.Stanza, 64)}
	up := make(chan struct{}, 4)
	cfg := xmpp.Config{
		Addr:       srv.C2SAddr,
		Client:     &xmpp.ClientLogin{JID: u.Address + "/link", Password: u.Password, TLS: policy, TLSConfig: tc},
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second,
		KeepAlive:      200 * time.Millisecond, // the watchdog pings the server during the test
		OnConnect:      func(context.Context) { up <- struct{}{} },
		OnConnectError: func(err error) { t.Logf("%s: connect error: %v", user, err) },
	}
	h := xmpp.HandlerFunc(func(_ context.Context, s *stanza.Stanza) {
		select {
		case c.in <- s:
		default:
		}
	})
	var err error
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if c.l, err = xmpp.NewLink(cfg, h, log); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Run did not return", user)
		}
	})
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: link did not come up", user)
	}
	if jid := c.l.JID(); !strings.HasPrefix(jid, u.Address+"/") {
		t.Fatalf("%s: JID() = %q", user, jid)
	}
	return c
}

// exchange sends presence and a message each way, fetches the roster with
// SendIQ and checks the watchdog's pings were answered.
func exchange(t *testing.T, alice, bob *clientLink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []*clientLink{alice, bob} {
		if err := c.l.Send(ctx, &stanza.Stanza{XMLName: xml.Name{Local: "presence"}}); err != nil {
			t.Fatalf("presence: %v", err)
		}
	}
	for _, pair := range [][2]*clientLink{{alice, bob}, {bob, alice}} {
		from, to := pair[0], pair[1]
		body := "hello from " + from.l.JID()
		m := &stanza.Stanza{XMLName: xml.Name{Local: "message"}, Type: "chat", To: to.l.JID(),
			Payload: []byte("<body>" + body + "</body>")}
		if err := from.l.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := expectMessage(t, ctx, to, body)
		if got.From != from.l.JID() {
			t.Fatalf("message from %q, want %q", got.From, from.l.JID())
		}
	}
	roster, err := alice.l.SendIQ(ctx, &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "get",
		Payload: []byte(`<query xmlns='jabber:iq:roster'/>`)})
	if err != nil {
		t.Fatalf("roster get: %v", err)
	}
	if name, ok := roster.Element("jabber:iq:roster"); !ok || name.Local != "query" {
		t.Fatalf("roster result %+v", roster)
	}
	// KeepAlive is 200 ms: after 600 ms of silence the watchdog pings.
	time.Sleep(time.Second)
	if st := alice.l.Stats(); !st.Connected || st.IQTimeouts != 0 || st.Reconnects != 0 {
		t.Fatalf("alice after idle pings: %+v", st)
	}
}

// expectMessage waits for a message with body, skipping presence and
// anything else.
func expectMessage(t *testing.T, ctx context.Context, c *clientLink, body string) *stanza.Stanza {
	t.Helper()
	for {
		select {
		case s := <-c.in:
			var b string
			if s.Kind() == stanza.KindMessage {
				if ok, _ := s.Decode("", "body", &b); ok && b == body {
					return s
				}
			}
		case <-ctx.Done():
			t.Fatalf("no message %q", body)
			return nil
		}
	}
}
