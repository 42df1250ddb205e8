package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
)

func TestRegisterDigest(t *testing.T) {
	ua := startUA(t, Config{})
	for _, tc := range []struct {
		name    string
		offered []string // challenges, topmost first
		qop     string
		want    string // algorithm answered
	}{
		{"MD5", []string{"MD5"}, "auth", "MD5"},
		{"SHA-256", []string{"SHA-256"}, "auth", "SHA-256"},
		{"SHA-512-256", []string{"SHA-512-256"}, "auth", "SHA-512-256"},
		{"no algorithm means MD5", []string{""}, "auth", ""},
		{"strongest of several", []string{"MD5", "SHA-256"}, "auth", "SHA-256"},
		{"strongest of several, topmost first", []string{"SHA-256", "MD5"}, "auth", "SHA-256"},
		{"unknown algorithm skipped", []string{"SHA-1-FANCY", "MD5"}, "auth", "MD5"},
		{"MD5-sess", []string{"MD5-sess"}, "auth", "MD5-sess"},
		{"SHA-256-sess", []string{"SHA-256-sess"}, "auth", "SHA-256-sess"},
		{"qop list with spaces", []string{"MD5"}, "auth-int, auth", "MD5"},
		{"auth-int only", []string{"SHA-256"}, "auth-int", "SHA-256"},
		{"RFC 2069 without qop", []string{"MD5"}, "", "MD5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := newAuth("alice", testPassword, tc.offered...)
			auth.qop = tc.qop
			f := newFakeRegistrar(t, authThen(0, auth))
			granted, next, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour)
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			if granted != time.Hour {
				t.Errorf("granted %v, want 1h", granted)
			}
			reqs := f.requests()
			if len(reqs) != 2 {
				t.Fatalf("registrar saw %d requests, want 2", len(reqs))
			}
			if reqs[0].authz != "" || reqs[1].authz == "" {
				t.Errorf("Authorization: first %q, second %q; want none then one", reqs[0].authz, reqs[1].authz)
			}
			cred := auth.lastCred()
			if cred.Algorithm != tc.want {
				t.Errorf("answered algorithm %q, want %q", cred.Algorithm, tc.want)
			}
			wantQop := ""
			if strings.Contains(tc.qop, "auth") {
				wantQop = "auth"
				if tc.qop == "auth-int" {
					wantQop = "auth-int"
				}
				if cred.Nc != 1 || cred.Cnonce == "" {
					t.Errorf("qop credentials nc=%d cnonce=%q, want nc=1 and a cnonce", cred.Nc, cred.Cnonce)
				}
			}
			if cred.QOP != wantQop {
				t.Errorf("qop %q, want %q", cred.QOP, wantQop)
			}
			if cred.Opaque == "" {
				t.Error("opaque not echoed")
			}
			if next.CallID == "" || next.CSeq != 2 || reqs[0].callID != next.CallID || reqs[1].callID != next.CallID {
				t.Errorf("binding %+v; Call-IDs %q %q", next, reqs[0].callID, reqs[1].callID)
			}
		})
	}
}

// TestRegisterRequest checks the shape of the REGISTER itself: URIs, tags,
// CSeq, Contact, Via, and that it leaves from the listening socket.
func TestRegisterRequest(t *testing.T) {
	ua := startUA(t, Config{UserAgent: "fargo/0.1"})
	auth := newAuth("alice", testPassword)
	f := newFakeRegistrar(t, authThen(0, auth))
	_, next, err := ua.Register(t.Context(), aliceAt(f.udpAddr, "udp"), Binding{CallID: "call-1", CSeq: 41}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests", len(reqs))
	}
	addr := ua.Addr().String()
	for i, r := range reqs {
		if r.source != addr {
			t.Errorf("request %d came from %s, want the listener %s", i, r.source, addr)
		}
		if !strings.Contains(r.via, "SIP/2.0/UDP "+addr) || !strings.Contains(r.via, ";rport") {
			t.Errorf("Via %q, want sent-by %s with rport", r.via, addr)
		}
		if want := "sip:" + f.udpAddr; r.ruri != want {
			t.Errorf("Request-URI %q, want %q", r.ruri, want)
		}
		if r.from != "sip:alice@sip.example.org" || r.to != r.from {
			t.Errorf("From %q To %q", r.from, r.to)
		}
		if r.callID != "call-1" || r.cseq != uint32(42+i) {
			t.Errorf("request %d: Call-ID %q CSeq %d", i, r.callID, r.cseq)
		}
		want := []string{"<sip:" + testToken + "@" + addr + ";transport=udp>;expires=600"}
		if diff := cmp.Diff(want, r.contacts); diff != "" {
			t.Errorf("Contact (-want +got):\n%s", diff)
		}
		if r.expires != "600" || r.userAgent != "fargo/0.1" {
			t.Errorf("Expires %q User-Agent %q", r.expires, r.userAgent)
		}
	}
	if reqs[0].fromTag == "" || reqs[0].fromTag != reqs[1].fromTag {
		t.Errorf("From tags %q %q: want one non-empty tag across the digest retry", reqs[0].fromTag, reqs[1].fromTag)
	}
	if next != (Binding{CallID: "call-1", CSeq: 43}) {
		t.Errorf("next binding %+v", next)
	}
	// A new exchange gets a new From tag.
	if _, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, "udp"), next, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if r := f.requests()[2]; r.fromTag == reqs[0].fromTag || r.cseq != 44 {
		t.Errorf("second exchange: From tag %q (first %q), CSeq %d", r.fromTag, reqs[0].fromTag, r.cseq)
	}
}

func TestRegisterProxyAuth(t *testing.T) {
	ua := startUA(t, Config{})
	proxy := newAuth("alice", testPassword, "SHA-256")
	proxy.proxy = true
	proxy.realm = "proxy.example.org"
	www := newAuth("alice", testPassword, "MD5")
	f := newFakeRegistrar(t, authThen(0, proxy, www))
	if _, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3 (407, 401, 200)", len(reqs))
	}
	if reqs[1].proxyAuth == "" || reqs[1].authz != "" {
		t.Errorf("after 407: Proxy-Authorization %q Authorization %q", reqs[1].proxyAuth, reqs[1].authz)
	}
	if reqs[2].proxyAuth == "" || reqs[2].authz == "" {
		t.Errorf("after 401: both credentials expected, got %q / %q", reqs[2].proxyAuth, reqs[2].authz)
	}
	if !strings.Contains(reqs[2].proxyAuth, "nc=00000002") {
		t.Errorf("proxy credentials reused without next nonce count: %q", reqs[2].proxyAuth)
	}
}

func TestRegisterStaleNonce(t *testing.T) {
	ua := startUA(t, Config{})
	auth := newAuth("alice", testPassword)
	auth.staleTimes = 1
	f := newFakeRegistrar(t, authThen(0, auth))
	if _, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour); err != nil {
		t.Fatalf("one stale re-challenge must be answered: %v", err)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("got %d requests, want 3", n)
	}

	auth2 := newAuth("alice", testPassword)
	auth2.staleTimes = 5
	f2 := newFakeRegistrar(t, authThen(0, auth2))
	_, _, err := ua.Register(t.Context(), aliceAt(f2.udpAddr, ""), Binding{}, time.Hour)
	if !IsAuthFailure(err) {
		t.Fatalf("endless stale nonces: err %v, want an auth failure", err)
	}
	if n := len(f2.requests()); n != 3 {
		t.Errorf("got %d requests, want 3 (no loop)", n)
	}
}

func TestRegisterWrongPassword(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, authThen(0, newAuth("alice", testPassword)))
	a := aliceAt(f.udpAddr, "")
	a.Password = wrongPassword
	_, next, err := ua.Register(t.Context(), a, Binding{}, time.Hour)
	checkNoSecret(t, err)
	if !IsAuthFailure(err) || IsTimeout(err) {
		t.Fatalf("err %v: want an auth failure", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 401 {
		t.Fatalf("err %#v, want *StatusError 401", err)
	}
	if got := err.Error(); !strings.HasPrefix(got, "SIP registrar answered 401 Unauthorized") {
		t.Errorf("error text %q", got)
	}
	if n := len(f.requests()); n != 2 || next.CSeq != 2 {
		t.Errorf("%d requests, CSeq %d: want exactly 2 (no retry loop)", n, next.CSeq)
	}
}

func TestRegisterForbidden(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply { return reply{code: 403} })
	_, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour)
	if !IsAuthFailure(err) || err.Error() != "SIP registrar answered 403 Forbidden" {
		t.Fatalf("err %v", err)
	}
}

func TestRegisterNoSupportedChallenge(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply {
		return reply{code: 401, headers: []sipmsg.Header{sipmsg.NewHeader("WWW-Authenticate", `Basic realm="x"`)}}
	})
	_, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour)
	if !IsAuthFailure(err) || !strings.Contains(err.Error(), "no supported digest challenge") {
		t.Fatalf("err %v", err)
	}
}

func TestRegisterIntervalTooBrief(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, func(req *sipmsg.Request, s seen) reply {
		if s.expires != "120" {
			return reply{code: 423, headers: []sipmsg.Header{sipmsg.NewHeader("Min-Expires", "120")}}
		}
		return reply{code: 200}
	})
	granted, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if granted != 120*time.Second {
		t.Errorf("granted %v, want 2m", granted)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].expires != "120" || !strings.HasSuffix(reqs[1].contacts[0], ";expires=120") {
		t.Errorf("requests %+v", reqs)
	}

	// A registrar that keeps answering 423 is not retried in a loop.
	f2 := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply {
		return reply{code: 423, headers: []sipmsg.Header{sipmsg.NewHeader("Min-Expires", "7200")}}
	})
	_, _, err = ua.Register(t.Context(), aliceAt(f2.udpAddr, ""), Binding{}, time.Minute)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 423 || len(f2.requests()) != 2 {
		t.Errorf("err %v after %d requests", err, len(f2.requests()))
	}
}

func TestRegisterGrantedExpiry(t *testing.T) {
	ua := startUA(t, Config{})
	for _, tc := range []struct {
		name    string
		headers []sipmsg.Header
		grant   int
		want    time.Duration
	}{
		{"contact param", nil, 300, 300 * time.Second},
		{"contact param wins over Expires", []sipmsg.Header{sipmsg.NewHeader("Expires", "900")}, 300, 300 * time.Second},
		{"Expires header", []sipmsg.Header{sipmsg.NewHeader("Expires", "900")}, -1, 900 * time.Second},
		{"requested", nil, -1, time.Hour},
		{"other device's contact ignored", []sipmsg.Header{
			&sipmsg.ContactHeader{Address: sipmsg.Uri{User: "phone", Host: "192.0.2.7"}, Params: sipmsg.HeaderParams{{K: "expires", V: "30"}}},
		}, 600, 600 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply {
				return reply{code: 200, grant: tc.grant, headers: tc.headers}
			})
			a := aliceAt(f.udpAddr, "")
			granted, _, err := ua.Register(t.Context(), a, Binding{}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if granted != tc.want {
				t.Errorf("granted %v, want %v", granted, tc.want)
			}
		})
	}
}

func TestRegisterTimeout(t *testing.T) {
	ua := startUA(t, Config{RequestTimeout: 300 * time.Millisecond})
	f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply { return reply{drop: true} })
	start := time.Now()
	_, next, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour)
	if !IsTimeout(err) || !errors.Is(err, ErrTimeout) || IsAuthFailure(err) {
		t.Fatalf("err %v, want a timeout", err)
	}
	if want := fmt.Sprintf("no answer from SIP registrar %s (timeout)", f.udpAddr); err.Error() != want {
		t.Errorf("error text %q, want %q", err.Error(), want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v with RequestTimeout 300ms", d)
	}
	if next.CSeq != 1 {
		t.Errorf("CSeq %d, want 1", next.CSeq)
	}
}

func TestRegisterTCP(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, authThen(0, newAuth("alice", testPassword, "SHA-256")))
	if _, _, err := ua.Register(t.Context(), aliceAt(f.tcpAddr, "tcp"), Binding{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	addr := ua.Addr().String()
	for _, r := range reqs {
		if r.transport != "TCP" {
			t.Errorf("transport %q", r.transport)
		}
		if want := "<sip:" + testToken + "@" + addr + ";transport=tcp>;expires=3600"; r.contacts[0] != want {
			t.Errorf("Contact %q, want %q", r.contacts[0], want)
		}
		if !strings.HasPrefix(r.via, "SIP/2.0/TCP "+addr) {
			t.Errorf("Via %q", r.via)
		}
	}
	if reqs[0].source != reqs[1].source {
		t.Errorf("TCP connection not reused: %s then %s", reqs[0].source, reqs[1].source)
	}
}

func TestRegisterOutboundProxy(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, accept(0))
	a := aliceAt("192.0.2.1:5080", "")
	a.OutboundProxy = "sip:" + f.udpAddr + ";lr"
	if _, _, err := ua.Register(t.Context(), a, Binding{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.ruri != "sip:192.0.2.1:5080" || r.route != "<sip:"+f.udpAddr+";lr>" {
		t.Errorf("Request-URI %q Route %q", r.ruri, r.route)
	}
}

func TestRegisterDefaultRegistrarIsAORHost(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, accept(0))
	a := aliceAt("", "")
	a.AOR = "alice@" + f.udpAddr[:strings.LastIndex(f.udpAddr, ":")]
	a.OutboundProxy = f.udpAddr // the AOR host has no port; reach the fake through the proxy
	if _, _, err := ua.Register(t.Context(), a, Binding{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if r := f.requests()[0]; r.ruri != "sip:127.0.0.1" {
		t.Errorf("Request-URI %q, want the AOR host", r.ruri)
	}
}

func TestRegisterInvalidAccount(t *testing.T) {
	ua := startUA(t, Config{})
	for _, a := range []Account{
		{AOR: "nobody", ContactToken: "t", Password: testPassword},
		{AOR: "a b@example.org", ContactToken: "t", Password: testPassword},
		{AOR: "alice@example.org", ContactToken: "bad token", Password: testPassword},
		{AOR: "alice@example.org", ContactToken: "t", Transport: "sctp", Password: testPassword},
		{AOR: "alice@example.org", ContactToken: "t", Registrar: "host:99999", Password: testPassword},
		{AOR: "alice@example.org", ContactToken: "t", AuthUser: "al\"ice", Password: testPassword},
		{AOR: "alice@example.org\r\nX: y", ContactToken: "t", Password: testPassword},
	} {
		_, _, err := ua.Register(t.Context(), a, Binding{}, time.Hour)
		if !errors.Is(err, ErrInvalidAccount) {
			t.Errorf("%+v: err %v, want ErrInvalidAccount", a.AOR, err)
		}
		checkNoSecret(t, err)
	}
}

func TestRegisterBeforeRunAndAfterStop(t *testing.T) {
	ua, err := NewUA(Config{ListenAddr: "127.0.0.1:0"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeRegistrar(t, accept(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	res := make(chan error, 1)
	go func() {
		_, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour)
		res <- err
	}()
	go func() { done <- ua.Run(ctx) }()
	if err := <-res; err != nil {
		t.Fatalf("Register issued before Run must wait for readiness: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour); !errors.Is(err, ErrClosed) {
		t.Errorf("after stop: %v, want ErrClosed", err)
	}
	if err := ua.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestRegisterTLS(t *testing.T) {
	f := newFakeRegistrar(t, authThen(0, newAuth("alice", testPassword, "SHA-256")))
	addr, roots := f.serveTLS(t)
	ua := startUA(t, Config{TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	if _, _, err := ua.Register(t.Context(), aliceAt(addr, "tls"), Binding{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].transport != "TLS" || !strings.HasSuffix(reqs[1].contacts[0], ";transport=tls>;expires=3600") {
		t.Errorf("requests %+v", reqs)
	}

	// A certificate the UA does not trust is a failure, not a silent success.
	untrusting := startUA(t, Config{})
	_, _, err := untrusting.Register(t.Context(), aliceAt(addr, "tls"), Binding{}, time.Hour)
	if err == nil || IsTimeout(err) || !strings.HasPrefix(err.Error(), "cannot reach SIP registrar "+addr) {
		t.Errorf("untrusted certificate: %v", err)
	}
}

func TestRegisterTCPRefused(t *testing.T) {
	ua := startUA(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, _, err = ua.Register(t.Context(), aliceAt(addr, "tcp"), Binding{}, time.Hour)
	if err == nil || IsTimeout(err) || IsAuthFailure(err) || !isTransient(err) || !strings.HasPrefix(err.Error(), "cannot reach SIP registrar "+addr) {
		t.Errorf("err %v, want a transient transport error", err)
	}
}

// TestRegisterWildcardListener checks that requests still leave from the
// listening socket when it is bound to 0.0.0.0, with ContactHost saying
// where we are reachable.
func TestRegisterWildcardListener(t *testing.T) {
	ua := startUA(t, Config{ListenAddr: "0.0.0.0:0", ContactHost: "127.0.0.1"})
	f := newFakeRegistrar(t, accept(0))
	if _, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if want := fmt.Sprintf("127.0.0.1:%d", ua.Addr().Port()); r.source != want || !strings.Contains(r.contacts[0], "@"+want+";") {
		t.Errorf("source %s contact %s, want %s", r.source, r.contacts[0], want)
	}
}

// Registrations racing the UA's shutdown must not make sipgo open a
// socket of its own after the listeners closed: nothing would close it.
func TestRegisterRacingStopLeavesNoSocket(t *testing.T) {
	f := newFakeRegistrar(t, accept(0))
	base := leakcheck.Count()
	for round := range 20 {
		ua, err := NewUA(Config{ListenAddr: "127.0.0.1:0"}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ua.Run(ctx) }()
		<-ua.Ready()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					if _, _, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{}, time.Hour); errors.Is(err, ErrClosed) {
						return
					}
				}
			})
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
	if err := leakcheck.Settle(base, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
