package jingle

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

// benchDecode decodes a captured client iq's <jingle/> and validates it,
// as the gateway does for every Jingle stanza it receives.
func benchDecode(b *testing.B, name string) {
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var iq struct {
			Jingle Jingle `xml:"urn:xmpp:jingle:1 jingle"`
		}
		if err := xml.Unmarshal(raw, &iq); err != nil {
			b.Fatal(err)
		}
		if err := iq.Jingle.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode covers the messages of a browser call: the offer (two
// contents, eight codecs, candidates), a trickled candidate, the answer
// and the hang-up.
func BenchmarkDecode(b *testing.B) {
	b.Run("session-initiate", func(b *testing.B) { benchDecode(b, "01-session-initiate-from-caller.xml") })
	b.Run("transport-info", func(b *testing.B) { benchDecode(b, "02-transport-info-from-caller.xml") })
	b.Run("session-accept", func(b *testing.B) { benchDecode(b, "07-session-accept-from-callee.xml") })
	b.Run("session-terminate", func(b *testing.B) { benchDecode(b, "09-session-terminate-from-caller.xml") })
}

// BenchmarkEncode marshals the same messages back, as the gateway does for
// every Jingle stanza it sends.
func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"01-session-initiate-from-caller.xml", "07-session-accept-from-callee.xml", "09-session-terminate-from-caller.xml"} {
		j := iqJingle(b, name)
		b.Run(string(j.Action), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := xml.Marshal(j); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
