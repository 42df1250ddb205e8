package echo

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/sip"
)

// TestRegistrar registers with the echo's registrar through internal/sip's
// real client: digest, bindings, refresh, un-REGISTER and the refusals.
func TestRegistrar(t *testing.T) {
	svc, _ := startEcho(t, 24670, Config{Registrar: Registrar{Domain: "sip.demo.test",
		Accounts: map[string]string{"alice": "alicepw"}}})
	c := startCaller(t, 24671, svc.Addr())
	acct := func(aor, pw string) sip.Account {
		return sip.Account{AOR: aor, Password: pw, Registrar: c.echo, ContactToken: "tok1"}
	}
	ctx := t.Context()

	granted, b, err := c.ua.Register(ctx, acct("alice@sip.demo.test", "alicepw"), sip.Binding{}, 120*time.Second)
	if err != nil || granted != 120*time.Second {
		t.Fatalf("register: granted %s, %v", granted, err)
	}
	if got := svc.Bindings("alice"); len(got) != 1 || !strings.Contains(got[0], "tok1@127.0.0.1:24671") {
		t.Fatalf("bindings after REGISTER: %q", got)
	}
	// A refresh on the same binding keeps one Contact; a long request is
	// capped.
	granted, b, err = c.ua.Register(ctx, acct("alice@sip.demo.test", "alicepw"), b, 10*time.Hour)
	if err != nil || granted != registrarMaxExpiry {
		t.Fatalf("refresh: granted %s, %v", granted, err)
	}
	if got := svc.Bindings("alice"); len(got) != 1 {
		t.Fatalf("bindings after refresh: %q", got)
	}
	if _, _, err := c.ua.Register(ctx, acct("alice@sip.demo.test", "alicepw"), b, 0); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	if got := svc.Bindings("alice"); len(got) != 0 {
		t.Fatalf("bindings after un-REGISTER: %q", got)
	}

	for _, tc := range []struct {
		name, aor, pw string
		code          int
		reason        string
	}{
		{"wrong password", "alice@sip.demo.test", "nope", 403, "wrong password"},
		{"unknown account", "bob@sip.demo.test", "x", 404, "no such account"},
		{"foreign domain", "alice@sip.example.org", "alicepw", 403, "serves only sip.demo.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.ua.Register(ctx, acct(tc.aor, tc.pw), sip.Binding{}, time.Minute)
			var se *sip.StatusError
			if !errors.As(err, &se) || se.Code != tc.code || !strings.Contains(se.Reason, tc.reason) {
				t.Fatalf("got %v, want %d %q", err, tc.code, tc.reason)
			}
		})
	}
	if got := svc.Bindings("alice"); len(got) != 0 {
		t.Fatalf("refused REGISTERs left bindings: %q", got)
	}
}

// TestRegistrarNeedsADomain: accounts without a domain are a config error.
func TestRegistrarNeedsADomain(t *testing.T) {
	if _, err := New(Config{Registrar: Registrar{Accounts: map[string]string{"a": "b"}}}, nil); err == nil {
		t.Fatal("accepted accounts without a domain")
	}
}

// TestRegistrarExpiry: a binding disappears when its time is up, and a
// nonce past its life is answered with a fresh (stale) challenge.
func TestRegistrarExpiry(t *testing.T) {
	r := newRegistrar(Registrar{Domain: "d", Accounts: map[string]string{"u": "p"}}, slog.New(slog.DiscardHandler))
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	r.bindings["u"] = []binding{{contact: "sip:x@h", expires: now.Add(time.Second)}}
	r.nonces["n"] = now.Add(time.Second)
	if len(r.Bindings("u")) != 1 || !r.takeNonce("n") {
		t.Fatal("live binding or nonce not seen")
	}
	now = now.Add(2 * time.Second)
	if len(r.Bindings("u")) != 0 || r.takeNonce("n") {
		t.Fatal("expired binding or nonce still valid")
	}
}
