package jinglesdp

import (
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

func benchParse(b *testing.B, file string, author jingle.Role, names []string) {
	body := crlf(readFile(b, file))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseSDP(body, author, names); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBuild(b *testing.B, contents []jingle.Content, g *jingle.Group, author jingle.Role, mirror *Media) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildSDP(contents, g, author, testOrigin, mirror); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSDP/conversations is the §3.9 A2 offer (ICE, DTLS, three
// candidates); baresip is a real plain-RTP SIP offer; legacy needs the
// normaliser.
func BenchmarkParseSDP(b *testing.B) {
	b.Run("conversations", func(b *testing.B) { benchParse(b, "sdp/conversations-a2-offer.sdp", jingle.RoleInitiator, nil) })
	b.Run("baresip", func(b *testing.B) { benchParse(b, "sdp/baresip-offer.sdp", jingle.RoleInitiator, nil) })
	b.Run("legacy-normalised", func(b *testing.B) { benchParse(b, "sdp/legacy-t-before-c-offer.sdp", jingle.RoleInitiator, nil) })
}

// BenchmarkBuildSDP/conversations renders the §3.9 A1 Jingle offer;
// baresip-answer answers the baresip offer with one codec.
func BenchmarkBuildSDP(b *testing.B) {
	b.Run("conversations", func(b *testing.B) {
		j := readJingle(b, "conversations-a1-initiate.xml")
		benchBuild(b, j.Contents, j.Group, jingle.RoleInitiator, nil)
	})
	b.Run("baresip-answer", func(b *testing.B) {
		mirror := mustParse(b, readFile(b, "sdp/baresip-offer.sdp"), jingle.RoleInitiator, nil)
		answer := []jingle.Content{audioContent("audio", jingle.SendersBoth, "192.0.2.99", 53012, ptPCMU, ptTE8)}
		benchBuild(b, answer, nil, jingle.RoleResponder, mirror)
	})
}
