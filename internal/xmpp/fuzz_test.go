package xmpp

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzReadStanzas feeds arbitrary bytes after a valid stream header to the
// stream reader: it must never panic, never hand out an element bigger than
// the limit, and always end with an error once the input is exhausted.
func FuzzReadStanzas(f *testing.F) {
	for _, seed := range []string{
		`<message from='a@example.test' to='b@sip.example.test'><body>hi</body></message>`,
		`<iq type='result' id='1'/><presence/></stream:stream>`,
		`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
		`<message><a></b></message>`,
		`<p:iq xmlns:p='jabber:component:accept' type='get'><q xmlns='urn:x'/></p:iq>`,
		`<!DOCTYPE x [<!ENTITY a "aaaa">]><message>&a;</message>`,
	} {
		f.Add([]byte(seed))
	}
	const limit = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		sr := newStreamReader(io.MultiReader(strings.NewReader(header), bytes.NewReader(data)), limit)
		if _, err := sr.header(); err != nil {
			t.Fatalf("valid header rejected: %v", err)
		}
		for i := 0; i <= len(data); i++ {
			s, err := sr.next()
			if err != nil {
				return
			}
			if len(s.Payload) > limit {
				t.Fatalf("payload of %d bytes passed a %d-byte limit", len(s.Payload), limit)
			}
			_, _ = s.Marshal()
		}
		t.Fatalf("reader did not end after %d bytes", len(data))
	})
}
