package testkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// These tests start the real peers through scripts/peers, like every
// end-to-end test: skipped on a machine without them, fatal in CI. Their
// ports stay clear of the ones other suites use on the shared machine.

func TestProsodyPeer(t *testing.T) {
	t.Parallel()
	srv := StartProsody(t, ProsodyConfig{C2SPort: 24222, ComponentPort: 24347, HTTPPort: 24280, HTTPSPort: 24281})
	exerciseXMPPServer(t, srv)
}

func TestEjabberdPeer(t *testing.T) {
	t.Parallel()
	srv := StartEjabberd(t, EjabberdConfig{C2SPort: 25222, ComponentPort: 25347, HTTPPort: 25280, DistPort: 25470})
	exerciseXMPPServer(t, srv)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func presenceFrom(from, typ string) func(*stanza.Stanza) bool {
	return func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.From == from && s.Type == typ
	}
}

// exerciseXMPPServer logs users in the way the gateway's e2e tests will:
// SCRAM and PLAIN, presence, an iq round trip, a subscription approved by
// AutoSubscribe (with the roster pushes it causes), Kill, Close, Restart.
func exerciseXMPPServer(t *testing.T, srv *XMPPServer) {
	ctx := ctxFor(t, time.Minute)

	alice := srv.Login(t, "alice", AutoSubscribe(srv.Domain)) // SCRAM-SHA-1
	if !strings.HasPrefix(alice.JID(), "alice@example.test/") {
		t.Fatalf("alice bound %q", alice.JID())
	}
	if err := alice.Presence(ctx, "", "", "", "e2e"); err != nil {
		t.Fatal(err)
	}
	info, err := alice.SendIQ(ctx, &stanza.Stanza{Type: "get", To: srv.Domain,
		Payload: []byte(`<query xmlns='http://jabber.org/protocol/disco#info'/>`)})
	if err != nil {
		t.Fatalf("disco#info of %s: %v", srv.Domain, err)
	}
	if !strings.Contains(string(info.Payload), `category="server"`) && !strings.Contains(string(info.Payload), `category='server'`) {
		t.Fatalf("disco#info of %s has no server identity: %s", srv.Domain, info.Payload)
	}

	bob := srv.Login(t, "bob", Mechanism(MechPLAIN))
	if err := bob.Presence(ctx, "", "", "", ""); err != nil {
		t.Fatal(err)
	}
	aliceBare := srv.Users["alice"].Address
	if err := bob.Presence(ctx, "subscribe", aliceBare, "", ""); err != nil {
		t.Fatal(err)
	}
	// alice's client approves by itself; bob then gets the approval and her presence
	if _, err := bob.Expect(ctx, presenceFrom(aliceBare, "subscribed")); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Expect(ctx, presenceFrom(alice.JID(), "")); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Expect(ctx, presenceFrom(srv.Users["bob"].Address, "subscribe")); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Expect(ctx, func(s *stanza.Stanza) bool {
		name, ok := s.Element(nsRoster)
		return s.Kind() == stanza.KindIQ && s.Type == "set" && ok && name.Local == "query"
	}); err != nil {
		t.Fatalf("alice saw no roster push: %v", err)
	}

	// a vanished client: the server must tell bob that alice went offline
	alice.Kill()
	if _, err := bob.Expect(ctx, presenceFrom(alice.JID(), "unavailable")); err != nil {
		t.Fatal(err)
	}
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(bob.Err(), ErrClosed) {
		t.Fatalf("bob.Err() = %v after Close", bob.Err())
	}

	// accounts and rosters survive a restart
	srv.Restart(t)
	again := srv.Login(t, "alice")
	roster, err := again.SendIQ(ctx, &stanza.Stanza{Type: "get", Payload: []byte(`<query xmlns='jabber:iq:roster'/>`)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(roster.Payload), srv.Users["bob"].Address) {
		t.Fatalf("alice's roster after restart lacks bob: %s", roster.Payload)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestKamailioPeer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		algorithm string
		port      int
	}{
		{DigestMD5, 24060},
		{DigestSHA256, 24064},
	} {
		t.Run(tc.algorithm, func(t *testing.T) {
			t.Parallel()
			kam := StartKamailio(t, KamailioConfig{Port: tc.port, Algorithm: tc.algorithm})
			exerciseKamailio(t, kam)
		})
	}
}

func exerciseKamailio(t *testing.T, kam *Kamailio) {
	ctx := ctxFor(t, time.Minute)
	alice := kam.Users["alice"]
	reg, err := sipRegister(ctx, kam.Addr, kam.Domain, alice.Name, alice.Password, 120)
	if err != nil {
		t.Fatalf("REGISTER alice (%s): %v", kam.Algorithm, err)
	}
	contacts, err := kam.WaitContacts(ctx, alice.Address, func(cs []Contact) bool { return len(cs) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	c := contacts[0]
	if c.AOR != "alice" || c.URI != reg.Contact || c.CallID != reg.CallID || c.CSeq != reg.CSeq ||
		c.UserAgent != "fargo-testkit" || c.Expires <= 100*time.Second || c.Expires > 120*time.Second ||
		time.Since(time.Unix(c.LastModified, 0)) > time.Minute {
		t.Fatalf("contact %+v does not match the registration %+v", c, reg)
	}
	// the bare user and the full AOR name the same binding
	if byUser, err := kam.Contacts(ctx, "alice"); err != nil || len(byUser) != 1 {
		t.Fatalf(`Contacts("alice") = %v, %v`, byUser, err)
	}

	if _, err := sipRegister(ctx, kam.Addr, kam.Domain, "bob", "wrong", 120); !errors.Is(err, errSIPStatus) {
		t.Fatalf("REGISTER with a wrong password: %v, want a 401", err)
	}

	kam.AddUser(t, "dave", "davepw")
	if _, err := sipRegister(ctx, kam.Addr, kam.Domain, "dave", "davepw", 60); err != nil {
		t.Fatalf("REGISTER of a user added live: %v", err)
	}

	// a registrar restart forgets every binding
	kam.Restart(t)
	if cs, err := kam.Contacts(ctx, "alice"); err != nil || len(cs) != 0 {
		t.Fatalf("contacts after restart = %v, %v; want none", cs, err)
	}
}
