package jinglesdp

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

// FuzzParseSDP feeds arbitrary bytes: ParseSDP must not panic, and what it
// accepts must render again, as an offer and as an answer mirroring it,
// into SDP it accepts too (livekit/sip#162 was a malformed-SDP panic).
func FuzzParseSDP(f *testing.F) {
	files, _ := filepath.Glob("testdata/sdp/*.sdp")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b, false)
	}
	f.Add([]byte("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=\nt=0 0\nm=image 9 udptl t38\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, responder bool) {
		author := jingle.RoleInitiator
		if responder {
			author = jingle.RoleResponder
		}
		m, err := ParseSDP(body, author, nil)
		if err != nil {
			return
		}
		for _, mirror := range []*Media{nil, m} {
			writer := author
			if mirror != nil {
				writer = otherRole(author)
			}
			out, err := BuildSDP(m.Contents, m.Group, writer, testOrigin, mirror)
			if err != nil {
				t.Fatalf("BuildSDP of a parsed SDP (mirror %v): %v\ninput:\n%q", mirror != nil, err, body)
			}
			if _, err := ParseSDP(out, writer, m.Names()); err != nil {
				t.Fatalf("ParseSDP of our own SDP: %v\n%q", err, out)
			}
		}
	})
}

// FuzzJingleToSDP decodes arbitrary XML as a Jingle element: BuildSDP must
// not panic and, when it succeeds, its SDP must parse. Seeds stay small:
// the fuzzer spends up to a minute minimising each new input, which for a
// 20 kB JSXC stanza stalls a 100000-execution CI run.
func FuzzJingleToSDP(f *testing.F) {
	files, _ := filepath.Glob("testdata/jingle/*.xml")
	for _, name := range files {
		if b, _ := os.ReadFile(name); len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'>` +
		`<content name='v' senders='responder'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>` +
		`<payload-type id='96' name='VP8' clockrate='90000'><rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='pli'/></payload-type>` +
		`<payload-type id='97' name='rtx' clockrate='90000'><parameter name='apt' value='96'/></payload-type>` +
		`<bandwidth type='AS'>512</bandwidth><rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='2' uri='urn:x' senders='initiator'/>` +
		`<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='1'/><source ssrc='2'/></ssrc-group>` +
		`<encryption required='1'><crypto crypto-suite='AES_CM_128_HMAC_SHA1_80' key-params='inline:k' tag='1'/></encryption></description>` +
		`<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='a' ip='192.0.2.1' port='4000'/>` +
		`<candidate component='2' generation='0' id='b' ip='192.0.2.2' port='4009'/></transport></content></jingle>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var j jingle.Jingle
		if xml.Unmarshal(b, &j) != nil {
			var iq struct {
				Jingle jingle.Jingle `xml:"urn:xmpp:jingle:1 jingle"`
			}
			if xml.Unmarshal(b, &iq) != nil {
				return
			}
			j = iq.Jingle
		}
		for _, author := range []jingle.Role{jingle.RoleInitiator, jingle.RoleResponder} {
			out, err := BuildSDP(j.Contents, j.Group, author, testOrigin, nil)
			if err != nil {
				continue
			}
			if _, err := ParseSDP(out, author, nil); err != nil {
				t.Fatalf("ParseSDP of BuildSDP output: %v\n%q", err, out)
			}
		}
		_ = Codecs(j.Contents)
		_ = CheckAnswer(j.Contents, Intersect(j.Contents, []jingle.PayloadType{ptPCMU, ptOpus, ptTE8}))
	})
}
