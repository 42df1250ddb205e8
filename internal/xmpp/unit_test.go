package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

func TestNewLinkValidation(t *testing.T) {
	nop := HandlerFunc(func(context.Context, *stanza.Stanza) {})
	valid := Config{Addr: "127.0.0.1:5347", Domain: testDomain, Secret: "s"}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; empty means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no addr", func(c *Config) { c.Addr = "" }, "addr is empty"},
		{"addr without port", func(c *Config) { c.Addr = "localhost" }, `addr "localhost"`},
		{"no domain", func(c *Config) { c.Domain = "" }, "domain is empty"},
		{"domain with local", func(c *Config) { c.Domain = "a@b" }, "not a bare domain"},
		{"domain with quote", func(c *Config) { c.Domain = "a'b.test" }, "not a bare domain"},
		{"no secret", func(c *Config) { c.Secret = "" }, "secret is empty"},
		{"negative queue", func(c *Config) { c.QueueSize = -1 }, "queue size"},
		{"tiny stanza limit", func(c *Config) { c.MaxStanzaSize = 10 }, "max stanza size"},
		{"negative iq timeout", func(c *Config) { c.IQTimeout = -time.Second }, "iq timeout"},
		{"backoff inverted", func(c *Config) { c.BackoffMin, c.BackoffMax = time.Minute, time.Second }, "exceeds backoff max"},
		{"keepalive disabled", func(c *Config) { c.KeepAlive = -1 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.mutate(&cfg)
			_, err := NewLink(cfg, nop, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewLink = %v, want ok", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("NewLink = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewLink(valid, nil, nil); err == nil {
		t.Fatal("NewLink accepted a nil handler")
	}
	l, err := NewLink(valid, nop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.ServerDomain != "example.test" || l.cfg.QueueSize != DefaultQueueSize || l.cfg.IQTimeout != DefaultIQTimeout {
		t.Fatalf("defaults not applied: %+v", l.cfg)
	}
}

func TestReplyMatches(t *testing.T) {
	for _, tc := range []struct {
		sentTo, from string
		want         bool
	}{
		{"example.test", "example.test", true},
		{"example.test", "", true},              // server answers without stamping from
		{"example.test", "EXAMPLE.test.", true}, // case and trailing dot
		{"a@example.test", "a@example.test", true},
		{"a@example.test", "a@example.test/phone", true}, // bare request, account answers
		{"a@example.test", "", false},
		{"a@example.test/phone", "a@example.test/phone", true},
		{"a@example.test/phone", "a@example.test/Phone", false}, // resources are case-sensitive
		{"a@example.test/phone", "a@example.test", false},
		{"a@example.test/phone", "a@example.test/laptop", false},
		{"a@example.test/phone", "", false},
		{"a@example.test", "b@example.test", false},
		{"example.test", "evil.test", false},
		{"example.test", "a@example.test", false},
	} {
		if got := replyMatches(tc.sentTo, tc.from); got != tc.want {
			t.Errorf("replyMatches(%q, %q) = %v, want %v", tc.sentTo, tc.from, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(time.Second, 8*time.Second)
	b.randN = func(n int64) int64 { return n - 1 } // always the ceiling
	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i, w := range want {
		if got := b.next(); got != w*time.Second {
			t.Fatalf("attempt %d: %v, want %v", i, got, w*time.Second)
		}
	}
	b.reset()
	b.randN = func(int64) int64 { return 0 } // always the floor
	for i := range 40 {
		if got := b.next(); got != time.Second {
			t.Fatalf("attempt %d: %v, want the floor", i, got)
		}
	}
	// Real jitter stays within [min, max] even after many attempts.
	b = newBackoff(time.Millisecond, time.Hour)
	for range 200 {
		if d := b.next(); d < time.Millisecond || d > time.Hour {
			t.Fatalf("delay %v out of bounds", d)
		}
	}
}

const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='sip.example.test'>`

func TestStreamReader(t *testing.T) {
	in := header + "\n  " +
		`<handshake/> ` +
		`<foo xmlns='urn:x'><bar/></foo>` +
		`<message from='a@example.test' to='b@sip.example.test'><x xmlns='urn:example:x'><y/></x></message>` +
		"\t" + `<iq type='result' id='1'/>` +
		`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Component already connected</text></stream:error>`
	sr := newStreamReader(strings.NewReader(in), 4096)
	var skipped []string
	sr.onSkip = func(n xml.Name) { skipped = append(skipped, n.Local) }
	id, err := sr.header()
	if err != nil || id != "abc" {
		t.Fatalf("header = %q, %v", id, err)
	}
	if err := sr.handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	m, err := sr.next()
	if err != nil || m.Kind() != stanza.KindMessage || string(m.Payload) != `<x xmlns='urn:example:x'><y/></x>` {
		t.Fatalf("message = %+v, %v", m, err)
	}
	if len(skipped) != 1 || skipped[0] != "foo" {
		t.Fatalf("skipped = %v, want [foo]", skipped)
	}
	if iq, err := sr.next(); err != nil || iq.ID != "1" {
		t.Fatalf("iq = %+v, %v", iq, err)
	}
	_, err = sr.next()
	var se *StreamError
	if !errors.As(err, &se) || se.Condition != "conflict" || se.Text != "Component already connected" {
		t.Fatalf("stream error = %v", err)
	}
}

func TestStreamReaderEnds(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       error
	}{
		{"stream end", `</stream:stream>`, errStreamEnd},
		{"eof", `<message/>`[:5], errPeerClosed},
		{"eof between stanzas", ``, errPeerClosed},
		{"mismatched tag", `<message><a></b></message>`, errMalformed},
		{"bad prefix close", `<message></stream:message>`, errMalformed},
		{"too big", `<message><body>` + strings.Repeat("z", 5000) + `</body></message>`, errTooBig},
		{"too big attribute", `<message a='` + strings.Repeat("z", 5000) + `'/>`, errTooBig},
		{"endless whitespace", strings.Repeat(" ", 5000), errTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr := newStreamReader(strings.NewReader(header+tc.body), 4096)
			if _, err := sr.header(); err != nil {
				t.Fatal(err)
			}
			var err error
			for err == nil {
				_, err = sr.next()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStreamReaderHeader(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"no id", `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>`},
		{"wrong element", `<stream xmlns='jabber:component:accept'>`},
		{"garbage", `HTTP/1.1 400 Bad Request`},
		{"empty", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newStreamReader(strings.NewReader(tc.in), 4096).header(); err == nil {
				t.Fatal("header accepted")
			}
		})
	}
}
