package sip

import (
	"errors"
	"fargo.dev/fargo/internal/testlog"
	"log/slog"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestBackoff(t *testing.T) {
	lo, hi := 5*time.Second, 5*time.Minute
	for n := range 20 {
		ceil := min(hi, lo<<(n+1))
		for range 200 {
			d := backoff(lo, hi, n)
			if d < lo || d > ceil || d > hi {
				t.Fatalf("backoff(%v, %v, %d) = %v, want in [%v, %v]", lo, hi, n, d, lo, ceil)
			}
		}
	}
	if d := backoff(time.Second, time.Second, 3); d != time.Second {
		t.Errorf("lo == hi: %v", d)
	}
	if d := backoff(time.Hour, time.Hour*24, 1000); d > 24*time.Hour {
		t.Errorf("no overflow expected: %v", d)
	}
}

func TestRefreshDelay(t *testing.T) {
	for _, tc := range []struct {
		granted, lo, hi time.Duration
	}{
		{time.Hour, 48 * time.Minute, 54 * time.Minute},
		{60 * time.Second, 48 * time.Second, 54 * time.Second},
		{20 * time.Second, 15 * time.Second, 15 * time.Second}, // 5s ahead wins
		{2 * time.Second, time.Second, time.Second},
		{time.Second, time.Second, time.Second}, // never a hot loop
	} {
		for range 100 {
			if d := refreshDelay(tc.granted); d < tc.lo || d > tc.hi {
				t.Fatalf("refreshDelay(%v) = %v, want in [%v, %v]", tc.granted, d, tc.lo, tc.hi)
			}
		}
	}
}

func TestPickChallenge(t *testing.T) {
	ch := func(v string) sipmsg.Header { return sipmsg.NewHeader("WWW-Authenticate", v) }
	for _, tc := range []struct {
		name    string
		headers []sipmsg.Header
		want    string // algorithm as challenged; "-" for none
		nonce   string
	}{
		{"single", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", qop="auth"`)}, "", "n1"},
		{"SHA-256 over MD5", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"`), ch(`Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"`)}, "SHA-256", "n2"},
		{"SHA-512-256 over SHA-256", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=SHA-256`), ch(`Digest realm="r", nonce="n2", algorithm=SHA-512-256`)}, "SHA-512-256", "n2"},
		{"qop over none", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=MD5`), ch(`Digest realm="r", nonce="n2", algorithm=MD5, qop="auth"`)}, "MD5", "n2"},
		{"plain over -sess", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=MD5-sess, qop="auth"`), ch(`Digest realm="r", nonce="n2", algorithm=MD5, qop="auth"`)}, "MD5", "n2"},
		{"equal: topmost", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"`), ch(`Digest realm="r", nonce="n2", algorithm=MD5, qop="auth"`)}, "MD5", "n1"},
		{"lower-case algorithm", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=sha-256, qop="auth"`)}, "sha-256", "n1"},
		{"unknown algorithm", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=SHA-1`)}, "-", ""},
		{"unknown qop", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", qop="auth-conf"`)}, "-", ""},
		{"-sess without qop", []sipmsg.Header{ch(`Digest realm="r", nonce="n1", algorithm=MD5-sess`)}, "-", ""},
		{"no nonce", []sipmsg.Header{ch(`Digest realm="r"`)}, "-", ""},
		{"Basic", []sipmsg.Header{ch(`Basic realm="r"`)}, "-", ""},
		{"garbage", []sipmsg.Header{ch(`Digest ,,,==="`)}, "-", ""},
		{"none", nil, "-", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := sipmsg.NewResponse(401, "Unauthorized")
			for _, h := range tc.headers {
				res.AppendHeader(h)
			}
			got, err := pickChallenge(res)
			if tc.want == "-" {
				if !errors.Is(err, errNoChallenge) {
					t.Fatalf("got %+v, %v; want errNoChallenge", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.c.Algorithm != tc.want || got.c.Nonce != tc.nonce || got.proxy {
				t.Errorf("picked %q nonce %q proxy %v", got.c.Algorithm, got.c.Nonce, got.proxy)
			}
		})
	}
}

func TestChallengeAnswerCountsNonce(t *testing.T) {
	ch, ok := parseChallenge(`Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256`)
	if !ok {
		t.Fatal("not parsed")
	}
	for want := 1; want <= 3; want++ {
		v, err := ch.answer("REGISTER", "sip:example.org", "alice", testPassword, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(v, "nc="+strings.Repeat("0", 7)+string(rune('0'+want))) || strings.Contains(v, testPassword) {
			t.Errorf("answer %d: %s", want, v)
		}
	}
}

func TestParseAccount(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		a                             Account
		ruri, dest, peer, route, user string
	}{
		{"defaults", Account{AOR: "alice@example.org", ContactToken: "t"}, "sip:example.org", "example.org:5060", "SIP registrar example.org:5060", "", "alice"},
		{"sip: prefix and registrar", Account{AOR: "sip:alice@example.org", Registrar: "10.0.0.1:5080", ContactToken: "t"}, "sip:10.0.0.1:5080", "10.0.0.1:5080", "SIP registrar 10.0.0.1:5080", "", "alice"},
		{"tls default port", Account{AOR: "alice@example.org", Transport: "TLS", ContactToken: "t"}, "sip:example.org", "example.org:5061", "SIP registrar example.org:5061", "", "alice"},
		{"proxy host:port", Account{AOR: "alice@example.org", OutboundProxy: "10.0.0.2:5070", ContactToken: "t"}, "sip:example.org", "10.0.0.2:5070", "SIP proxy 10.0.0.2:5070", "sip:10.0.0.2:5070", "alice"},
		{"proxy URI", Account{AOR: "alice@example.org", OutboundProxy: "sip:proxy.example.org;lr", ContactToken: "t"}, "sip:example.org", "proxy.example.org:5060", "SIP proxy proxy.example.org:5060", "sip:proxy.example.org", "alice"},
		{"IPv6 registrar", Account{AOR: "alice@example.org", Registrar: "[2001:db8::1]:5060", ContactToken: "t"}, "sip:[2001:db8::1]:5060", "[2001:db8::1]:5060", "SIP registrar [2001:db8::1]:5060", "", "alice"},
		{"auth user", Account{AOR: "+4930123@example.org", AuthUser: "acct-77", ContactToken: "t"}, "sip:example.org", "example.org:5060", "SIP registrar example.org:5060", "", "acct-77"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAccount(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			route := ""
			if got.proxy != nil {
				route = got.proxy.String()
			}
			want := []string{tc.ruri, tc.dest, tc.peer, tc.route, tc.user}
			if diff := cmp.Diff(want, []string{got.ruri.String(), got.dest, got.peer, route, got.authUser}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{ListenAddr: "127.0.0.1:5070"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ListenAddr: "127.0.0.1:5070", UserAgent: "fargo",
		RegisterExpiry: time.Hour, RequestTimeout: 32 * time.Second,
		RetryMin: 5 * time.Second, RetryMax: 5 * time.Minute,
		AuthRetryMin: 5 * time.Minute, AuthRetryMax: time.Hour,
		InviteTimeout: 32 * time.Second, MinSE: 90 * time.Second,
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c.t1x64 != 32*time.Second || c.ringRepeat != time.Minute || c.offerTimeout != 5*time.Second || c.glareWait == nil {
		t.Errorf("unexported defaults: t1x64 %v, ringRepeat %v, offerTimeout %v", c.t1x64, c.ringRepeat, c.offerTimeout)
	}
	for _, bad := range []Config{
		{},
		{ListenAddr: "localhost:5060"},
		{ListenAddr: "0.0.0.0:5060"}, // wildcard needs ContactHost
		{ListenAddr: "127.0.0.1:5060", ContactHost: "a b"},
		{ListenAddr: "127.0.0.1:5060", RetryMin: time.Hour, RetryMax: time.Minute},
		{ListenAddr: "127.0.0.1:5060", UserAgent: "x\r\nEvil: 1"},
		{ListenAddr: "127.0.0.1:5060", MinSE: 1500 * time.Millisecond},
	} {
		if _, err := NewUA(bad, nil, nil); err == nil {
			t.Errorf("NewUA(%+v) succeeded", bad)
		}
	}
}

func TestContactHost(t *testing.T) {
	ua := startUA(t, Config{ListenAddr: "127.0.0.1:0", ContactHost: "192.0.2.10"})
	if ua.contactHost != "192.0.2.10" || ua.contactPort != int(ua.Addr().Port()) {
		t.Errorf("contact %s:%d, want 192.0.2.10 and the listening port", ua.contactHost, ua.contactPort)
	}
	ua2 := startUA(t, Config{ListenAddr: "127.0.0.1:0", ContactHost: "gw.example.net:5999"})
	if ua2.contactHost != "gw.example.net" || ua2.contactPort != 5999 {
		t.Errorf("contact %s:%d", ua2.contactHost, ua2.contactPort)
	}
}

func TestErrors(t *testing.T) {
	auth := &StatusError{Code: 401, Reason: "Unauthorized", authFailed: true}
	wrapped := errors.Join(errors.New("context"), auth)
	for _, tc := range []struct {
		err                  error
		auth, timeout, trans bool
	}{
		{auth, true, false, false},
		{wrapped, true, false, false},
		{&StatusError{Code: 403, Reason: "Forbidden"}, true, false, false},
		{&StatusError{Code: 404, Reason: "Not Found"}, false, false, false},
		{&StatusError{Code: 503}, false, false, true},
		{&StatusError{Code: 500}, false, false, true},
		{&StatusError{Code: 408}, false, false, true},
		{&StatusError{Code: 480}, false, false, true},
		{&StatusError{Code: 603}, false, false, false},
		{&timeoutError{peer: "SIP registrar x"}, false, true, true},
		{errors.New("cannot reach"), false, false, true},
		{ErrClosed, false, false, false},
		{invalid("x"), false, false, false},
	} {
		if IsAuthFailure(tc.err) != tc.auth || IsTimeout(tc.err) != tc.timeout || isTransient(tc.err) != tc.trans {
			t.Errorf("%v: auth %v timeout %v transient %v", tc.err, IsAuthFailure(tc.err), IsTimeout(tc.err), isTransient(tc.err))
		}
	}
	if got := cleanReason("Forbidden\r\nX-Evil: 1" + strings.Repeat("x", 200)); strings.ContainsAny(got, "\r\n") || len(got) > 80 {
		t.Errorf("cleanReason: %q", got)
	}
}

func TestSipgoLogHandler(t *testing.T) {
	var buf testlog.Buffer
	l := newSipgoLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Error("failed to parse", "data", strings.Repeat("A", 1000))
	if buf.String() != "" {
		t.Errorf("parse failure logged above debug: %s", buf.String())
	}
	l.Warn("something", "data", strings.Repeat("B", 1000))
	if out := buf.String(); !strings.Contains(out, "component=sipgo") || strings.Count(out, "B") > maxLogValue+10 {
		t.Errorf("log %q", out)
	}
}
