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

// benchPayload is the inner XML of a captured iq: what the gateway hands
// to the Jingle decoder.
func benchPayload(b *testing.B, name string) []byte {
	b.Helper()
	return iqPayload(b, filepath.Join("testdata", name))
}

// BenchmarkDecodeFast compares Decode with xml.Unmarshal, and ChildNames
// with the encoding/xml token loop it replaced in the gateway, on the same
// payload, the <jingle/> of a browser's offer.
func BenchmarkDecodeFast(b *testing.B) {
	payload := benchPayload(b, "01-session-initiate-from-caller.xml")
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if _, err := Decode(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xml.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			var j Jingle
			if err := xml.Unmarshal(payload, &j); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ChildNames", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if _, err := ChildNames(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ChildNames-encoding/xml", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if _, err := refChildNames(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppendXML compares AppendXML into a reused buffer, into a new
// one, and xml.Marshal on the same offer.
func BenchmarkAppendXML(b *testing.B) {
	j := iqJingle(b, "01-session-initiate-from-caller.xml")
	b.Run("AppendXML", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = j.AppendXML(buf[:0])
		}
	})
	b.Run("AppendXML-nil", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = j.AppendXML(nil)
		}
	})
	b.Run("xml.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := xml.Marshal(j); err != nil {
				b.Fatal(err)
			}
		}
	})
}
