package jinglesdp

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fargo.dev/fargo/internal/jingle"
)

// TestA1BuildsA2 is protocol-map §3.9: the Conversations offer becomes
// the A2 SDP byte for byte.
func TestA1BuildsA2(t *testing.T) {
	j := readJingle(t, "conversations-a1-initiate.xml")
	got := mustBuild(t, j.Contents, j.Group, jingle.RoleInitiator, nil)
	if want := string(crlf(readFile(t, "sdp/conversations-a2-offer.sdp"))); got != want {
		t.Errorf("A1 → SDP:\n%s\nwant A2:\n%s", got, want)
	}
}

// TestA3ParsesToSessionAccept is protocol-map §3.9 A3: the SIP answer
// becomes the session-accept shown there (candidate ids are invented).
func TestA3ParsesToSessionAccept(t *testing.T) {
	m := mustParse(t, readFile(t, "sdp/webrtc-a3-answer.sdp"), jingle.RoleResponder, []string{"0"})
	want := readJingle(t, "webrtc-a3-expected.xml")
	want.Contents[0].Transport.Candidates[0].ID = "c1"
	if diff := cmp.Diff(want.Contents, m.Contents); diff != "" {
		t.Errorf("A3 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Group, m.Group); diff != "" {
		t.Errorf("A3 group (-want +got):\n%s", diff)
	}
}

// TestB1ParsesToSessionInitiate is protocol-map §3.10 B1, except that
// telephone-event's value-only fmtp has an empty parameter name (the
// otalk/MongooseIM convention) rather than stox-media's "events".
func TestB1ParsesToSessionInitiate(t *testing.T) {
	m := mustParse(t, readFile(t, "sdp/pbx-b1-offer.sdp"), jingle.RoleInitiator, nil)
	want := readJingle(t, "pbx-b1-expected.xml")
	want.Contents[0].Description.PayloadTypes[3].Params[0].Name = ""
	if diff := cmp.Diff(want.Contents, m.Contents); diff != "" {
		t.Errorf("B1 (-want +got):\n%s", diff)
	}
}

// TestB2AnswersB1 is protocol-map §3.10 B2: Dino's accept answers the
// PBX offer with the B2 SDP (attribute order aside).
func TestB2AnswersB1(t *testing.T) {
	mirror := mustParse(t, readFile(t, "sdp/pbx-b1-offer.sdp"), jingle.RoleInitiator, nil)
	j := readJingle(t, "dino-b2-accept.xml")
	o := Origin{SessionID: 4417280199304588, Version: 1, Address: netip.MustParseAddr("192.0.2.99")}
	out, err := BuildSDP(j.Contents, j.Group, jingle.RoleResponder, o, mirror)
	if err != nil {
		t.Fatal(err)
	}
	got := mustParse(t, out, jingle.RoleResponder, nil)
	want := mustParse(t, readFile(t, "sdp/dino-b2-answer.sdp"), jingle.RoleResponder, nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("B2 (-want +got):\n%s\n%s", diff, out)
	}
}

func TestProto(t *testing.T) {
	ice := func() *jingle.Transport { return jingle.NewTransport(jingle.NSICEUDP) }
	cases := []struct {
		name string
		edit func(c *jingle.Content)
		want string
	}{
		{"plain", func(*jingle.Content) {}, "RTP/AVP"},
		{"rtcp-fb", func(c *jingle.Content) { c.Description.RTCPFB = []jingle.RTCPFB{{Type: "nack"}} }, "RTP/AVPF"},
		{"trr-int on a payload type", func(c *jingle.Content) { c.Description.PayloadTypes[0].TrrInt = &jingle.TrrInt{Value: 5} }, "RTP/AVPF"},
		{"sdes", func(c *jingle.Content) {
			c.Description.Encryption = &jingle.Encryption{Crypto: []jingle.Crypto{{Tag: "1", Suite: "AES_CM_128_HMAC_SHA1_80", KeyParams: "inline:k"}}}
		}, "RTP/SAVP"},
		{"sdes and rtcp-fb", func(c *jingle.Content) {
			c.Description.Encryption = &jingle.Encryption{Crypto: []jingle.Crypto{{Tag: "1", Suite: "S", KeyParams: "inline:k"}}}
			c.Description.RTCPFB = []jingle.RTCPFB{{Type: "nack"}}
		}, "RTP/SAVPF"},
		{"fingerprint", func(c *jingle.Content) {
			c.Transport = ice()
			c.Transport.Fingerprints = []jingle.Fingerprint{{Hash: "sha-256", Setup: "actpass", Value: "AB"}}
		}, "UDP/TLS/RTP/SAVPF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU)
			tc.edit(&c)
			m := mustParse(t, []byte(mustBuild(t, []jingle.Content{c}, nil, jingle.RoleInitiator, nil)), jingle.RoleInitiator, nil)
			if got := m.Lines[0].Proto; got != tc.want {
				t.Errorf("proto %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDefaultCandidate(t *testing.T) {
	cand := func(typ, ip string, comp uint16, prio uint32, proto string) jingle.Candidate {
		return jingle.Candidate{Component: comp, Foundation: "f", ID: "x", IP: ip, Port: 5000 + uint16(prio%100), Priority: prio, Protocol: proto, Type: typ}
	}
	cases := []struct {
		name  string
		cands []jingle.Candidate
		want  string // "c= address port"
	}{
		{"none", nil, "0.0.0.0 9"},
		{"host", []jingle.Candidate{cand("host", "192.0.2.1", 1, 10, "udp")}, "192.0.2.1 5010"},
		{"srflx beats host", []jingle.Candidate{cand("host", "192.0.2.1", 1, 90, "udp"), cand("srflx", "198.51.100.1", 1, 20, "udp")}, "198.51.100.1 5020"},
		{"relay beats srflx", []jingle.Candidate{cand("srflx", "198.51.100.1", 1, 20, "udp"), cand("relay", "203.0.113.1", 1, 5, "udp")}, "203.0.113.1 5005"},
		{"highest-priority relay", []jingle.Candidate{cand("relay", "203.0.113.1", 1, 5, "udp"), cand("relay", "203.0.113.2", 1, 7, "udp")}, "203.0.113.2 5007"},
		{"component 2 never", []jingle.Candidate{cand("relay", "203.0.113.1", 2, 5, "udp"), cand("host", "192.0.2.1", 1, 10, "udp")}, "192.0.2.1 5010"},
		{"tcp never", []jingle.Candidate{cand("relay", "203.0.113.1", 1, 5, "tcp")}, "0.0.0.0 9"},
		{"IPv6", []jingle.Candidate{cand("host", "2001:db8::1", 1, 10, "udp")}, "2001:db8::1 5010"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := audioContent("audio", jingle.SendersBoth, "", 0, ptPCMU)
			c.Transport = jingle.NewTransport(jingle.NSICEUDP)
			c.Transport.Ufrag, c.Transport.Pwd = "ufrag", "passwordpasswordpassword"
			c.Transport.Candidates = tc.cands
			out := mustBuild(t, []jingle.Content{c}, nil, jingle.RoleInitiator, nil)
			if got := mLineAddress(t, out); got != tc.want {
				t.Errorf("default %q, want %q\n%s", got, tc.want, out)
			}
		})
	}
}

// mLineAddress returns "c-address port" of the first m-line.
func mLineAddress(t *testing.T, out string) string {
	t.Helper()
	m := mustParse(t, []byte(out), jingle.RoleInitiator, nil)
	var addr string
	for l := range strings.SplitSeq(out, "\r\n") {
		if after, ok := strings.CutPrefix(l, "c=IN "); ok {
			addr = after[4:]
		}
	}
	return addr + " " + strconv.Itoa(m.Lines[0].Port)
}

func TestCandidateLines(t *testing.T) {
	c := audioContent("audio", jingle.SendersBoth, "", 0, ptPCMU)
	c.Transport = jingle.NewTransport(jingle.NSICEUDP)
	c.Transport.Candidates = []jingle.Candidate{
		{Component: 1, Foundation: "1", IP: "198.51.100.1", Port: 5000, Priority: 9, Protocol: "udp", Type: "srflx", Generation: 1},
		{Component: 1, Foundation: "2", IP: "203.0.113.1", Port: 5002, Priority: 8, Type: "relay", RelAddr: "198.51.100.1", RelPort: 5000},
		{Component: 1, Foundation: "3", IP: "host.local", Port: 5004, Priority: 7, Type: "host"},
		{Component: 1, Foundation: "", IP: "192.0.2.1", Port: 5006, Priority: 7, Type: "host"},
	}
	out := mustBuild(t, []jingle.Content{c}, nil, jingle.RoleInitiator, nil)
	for _, want := range []string{
		"a=candidate:1 1 udp 9 198.51.100.1 5000 typ srflx raddr 0.0.0.0 rport 9 generation 1",
		"a=candidate:2 1 udp 8 203.0.113.1 5002 typ relay raddr 198.51.100.1 rport 5000 generation 0",
	} {
		if !containsLine(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Count(out, "a=candidate:") != 2 {
		t.Errorf("mDNS and foundation-less candidates must not be written:\n%s", out)
	}
}

func TestRawUDPBuild(t *testing.T) {
	cases := []struct {
		name string
		c2   *jingle.Candidate
		mux  bool
		want string // the a=rtcp line, "" for none
	}{
		{"port+1 is implied", &jingle.Candidate{Component: 2, IP: "192.0.2.1", Port: 4001}, false, ""},
		{"other port", &jingle.Candidate{Component: 2, IP: "192.0.2.1", Port: 4009}, false, "a=rtcp:4009"},
		{"other address", &jingle.Candidate{Component: 2, IP: "192.0.2.2", Port: 4001}, false, "a=rtcp:4001 IN IP4 192.0.2.2"},
		{"muxed", &jingle.Candidate{Component: 2, IP: "192.0.2.1", Port: 4009}, true, ""},
		{"no component 2", nil, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU)
			if tc.c2 != nil {
				c.Transport.Candidates = append(c.Transport.Candidates, *tc.c2)
			}
			if tc.mux {
				c.Description.RTCPMux = &jingle.Empty{}
			}
			out := mustBuild(t, []jingle.Content{c}, nil, jingle.RoleInitiator, nil)
			if !containsLine(out, "m=audio 4000 RTP/AVP 0") || !containsLine(out, "c=IN IP4 192.0.2.1") {
				t.Errorf("c= and port must come from component 1:\n%s", out)
			}
			got := ""
			for l := range strings.SplitSeq(out, "\r\n") {
				if strings.HasPrefix(l, "a=rtcp:") {
					got = l
				}
			}
			if got != tc.want {
				t.Errorf("a=rtcp %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPayloadTypeLines(t *testing.T) {
	d := []jingle.PayloadType{
		{ID: 0}, // static, no name: still gets an rtpmap
		{ID: 9, Name: "G722", Clockrate: 16000},
		{ID: 111, Name: "opus", Clockrate: 48000, Params: []jingle.Parameter{{Name: "minptime", Value: "10"}, {Name: "useinbandfec", Value: "1"}}},
		{ID: 101, Name: "telephone-event", Clockrate: 8000, Ptime: 20, Params: []jingle.Parameter{{Name: "events", Value: "0-16"}}},
		{ID: 100, Name: "telephone-event", Clockrate: 48000, Params: []jingle.Parameter{{Value: "0-15"}}},
		{ID: 63, Name: "red", Clockrate: 48000, Channels: 2, Params: []jingle.Parameter{{Value: "111/111"}}},
	}
	c := audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, d...)
	out := mustBuild(t, []jingle.Content{c}, nil, jingle.RoleInitiator, nil)
	for _, want := range []string{
		"a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000", "a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 minptime=10;useinbandfec=1", "a=fmtp:101 0-16", "a=fmtp:100 0-15",
		"a=rtpmap:63 red/48000/2", "a=fmtp:63 111/111", "a=ptime:20",
	} {
		if !containsLine(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "events=") {
		t.Errorf("events= written:\n%s", out)
	}
}

// TestMirrorAnswer covers RFC 3264 §6 answers to a SIP offer.
func TestMirrorAnswer(t *testing.T) {
	mirror := mustParse(t, readFile(t, "sdp/t38-video-offer.sdp"), jingle.RoleInitiator, nil)
	audio := audioContent("audio", jingle.SendersBoth, "192.0.2.99", 53012, ptPCMU)
	out := mustBuild(t, []jingle.Content{audio}, nil, jingle.RoleResponder, mirror)
	got := mustParse(t, []byte(out), jingle.RoleResponder, nil)
	want := []MLine{
		{Media: "audio", Proto: "RTP/AVP", Port: 53012, Formats: []string{"0"}},
		{Media: "video", Proto: "RTP/AVP", Port: 0, Formats: []string{"96"}, Rejected: true},
		{Media: "image", Proto: "udptl", Port: 0, Formats: []string{"t38"}, Rejected: true},
	}
	if diff := cmp.Diff(want, got.Lines); diff != "" {
		t.Errorf("answer lines (-want +got):\n%s\n%s", diff, out)
	}
	if strings.Contains(out, "a=mid") || strings.Contains(out, "a=group") {
		t.Errorf("the offer had no mid and no group:\n%s", out)
	}

	// A content the offer does not have cannot be answered.
	extra := audioContent("extra", jingle.SendersBoth, "192.0.2.99", 53014, ptPCMU)
	if _, err := BuildSDP([]jingle.Content{audio, extra}, nil, jingle.RoleResponder, testOrigin, mirror); !errors.Is(err, ErrBadJingle) {
		t.Errorf("extra content: %v, want ErrBadJingle", err)
	}
}

// TestMirrorKeepsToTheOffer checks mids, BUNDLE, rtcp-mux, header
// extensions and rtcp-fb are only answered when offered.
func TestMirrorKeepsToTheOffer(t *testing.T) {
	full := audioContent("a", jingle.SendersBoth, "192.0.2.99", 5000, jingle.PayloadType{ID: 96, Name: "opus", Clockrate: 48000, Channels: 2,
		RTCPFB: []jingle.RTCPFB{{Type: "transport-cc"}, {Type: "nack"}}})
	full.Description.RTCPMux = &jingle.Empty{}
	full.Description.HdrExts = []jingle.HdrExt{{ID: 1, URI: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}, {ID: 2, URI: "urn:x"}}
	group := &jingle.Group{Semantics: "BUNDLE", Contents: []jingle.GroupContent{{Name: "a"}}}

	bare := mustParse(t, offer("m=audio 4000 RTP/AVP 96", "a=rtpmap:96 opus/48000/2"), jingle.RoleInitiator, []string{"a"})
	out := mustBuild(t, []jingle.Content{full}, group, jingle.RoleResponder, bare)
	for _, no := range []string{"a=mid", "a=group", "a=rtcp-mux", "a=extmap", "a=rtcp-fb"} {
		if strings.Contains(out, no) {
			t.Errorf("%s answered without being offered:\n%s", no, out)
		}
	}
	if !containsLine(out, "m=audio 5000 RTP/AVP 96") {
		t.Errorf("answer:\n%s", out)
	}

	rich := mustParse(t, offer("a=group:BUNDLE m0", "m=audio 4000 RTP/AVPF 96", "a=mid:m0", "a=rtpmap:96 opus/48000/2",
		"a=rtcp-fb:96 nack", "a=rtcp-mux", "a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level"), jingle.RoleInitiator, []string{"a"})
	out = mustBuild(t, []jingle.Content{full}, group, jingle.RoleResponder, rich)
	for _, want := range []string{"a=group:BUNDLE m0", "a=mid:m0", "a=rtcp-mux", "a=rtcp-fb:96 nack",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", "m=audio 5000 RTP/AVPF 96"} {
		if !containsLine(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	for _, no := range []string{"transport-cc", "urn:x"} {
		if strings.Contains(out, no) {
			t.Errorf("%s answered without being offered:\n%s", no, out)
		}
	}
}

func TestBuildRejectsAndErrors(t *testing.T) {
	declined := jingle.Content{Name: "video", Senders: jingle.SendersNone, Description: jingle.NewDescription("video")}
	out := mustBuild(t, []jingle.Content{audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU), declined}, nil, jingle.RoleInitiator, nil)
	if !containsLine(out, "m=video 0 RTP/AVP 0") {
		t.Errorf("declined content must have port 0:\n%s", out)
	}
	inactive := audioContent("audio", jingle.SendersNone, "192.0.2.1", 4000, ptPCMU)
	out = mustBuild(t, []jingle.Content{inactive}, nil, jingle.RoleInitiator, nil)
	if !containsLine(out, "a=inactive") || !containsLine(out, "m=audio 4000 RTP/AVP 0") {
		t.Errorf("senders none with payload types is inactive, not rejected:\n%s", out)
	}

	bad := func(edit func(c *jingle.Content)) jingle.Content {
		c := audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU)
		edit(&c)
		return c
	}
	for name, c := range map[string]jingle.Content{
		"no payload type":    bad(func(c *jingle.Content) { c.Description.PayloadTypes = nil }),
		"no description":     bad(func(c *jingle.Content) { c.Description = nil }),
		"not RTP":            bad(func(c *jingle.Content) { c.Description.XMLName.Space = "urn:xmpp:jingle:apps:file-transfer:5" }),
		"media with a space": bad(func(c *jingle.Content) { c.Description.Media = "au dio" }),
		"CRLF in a parameter": bad(func(c *jingle.Content) {
			c.Description.PayloadTypes[0].Params = []jingle.Parameter{{Name: "x", Value: "1\r\na=evil"}}
		}),
		"LF in ufrag": bad(func(c *jingle.Content) { c.Transport.Ufrag = "a\nb" }),
		"NUL in a source param": bad(func(c *jingle.Content) {
			c.Description.Sources = []jingle.Source{{SSRC: 1, Params: []jingle.Parameter{{Name: "cname", Value: "\x00"}}}}
		}),
	} {
		if _, err := BuildSDP([]jingle.Content{c}, nil, jingle.RoleInitiator, testOrigin, nil); !errors.Is(err, ErrBadJingle) {
			t.Errorf("%s: %v, want ErrBadJingle", name, err)
		}
	}
	c := audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU)
	if _, err := BuildSDP([]jingle.Content{c}, nil, jingle.RoleInitiator, Origin{}, nil); err == nil {
		t.Error("an origin without address must fail")
	}
	if _, err := BuildSDP([]jingle.Content{c}, nil, "", testOrigin, nil); err == nil {
		t.Error("a bad author must fail")
	}
}

func TestExtmapAllowMixedPlacement(t *testing.T) {
	a := audioContent("a", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU)
	b := audioContent("b", jingle.SendersBoth, "192.0.2.1", 4002, ptPCMU)
	a.Description.ExtmapAllowMixed = &jingle.Empty{}
	out := mustBuild(t, []jingle.Content{a, b}, nil, jingle.RoleInitiator, nil)
	if i, j := strings.Index(out, "a=extmap-allow-mixed"), strings.Index(out, "m=audio 4000"); i < j {
		t.Errorf("only one content wants it: must be media level:\n%s", out)
	}
	b.Description.ExtmapAllowMixed = &jingle.Empty{}
	out = mustBuild(t, []jingle.Content{a, b}, nil, jingle.RoleInitiator, nil)
	if strings.Count(out, "a=extmap-allow-mixed") != 1 || strings.Index(out, "a=extmap-allow-mixed") > strings.Index(out, "m=") {
		t.Errorf("all contents want it: once at session level:\n%s", out)
	}
}

func TestOrigin(t *testing.T) {
	o := NewOrigin(netip.MustParseAddr("2001:db8::1"))
	if o.SessionID == 0 || o.SessionID >= 1<<63 || o.Version != 0 {
		t.Errorf("NewOrigin %+v", o)
	}
	if n := o.Next().Next(); n.Version != 2 || n.SessionID != o.SessionID {
		t.Errorf("Next %+v", n)
	}
	out := string(mustBuildWith(t, o.Next()))
	if !strings.HasPrefix(out, "v=0\r\no=- "+strconv.FormatUint(o.SessionID, 10)+" 1 IN IP6 2001:db8::1\r\ns=-\r\nt=0 0\r\n") {
		t.Errorf("session header:\n%s", out)
	}
	// An IPv4-mapped address is written as IPv4.
	o.Address = netip.MustParseAddr("::ffff:192.0.2.1")
	if out := string(mustBuildWith(t, o)); !strings.Contains(out, "IN IP4 192.0.2.1\r\n") {
		t.Errorf("mapped origin:\n%s", out)
	}
}

func mustBuildWith(t *testing.T, o Origin) []byte {
	t.Helper()
	b, err := BuildSDP([]jingle.Content{audioContent("audio", jingle.SendersBoth, "192.0.2.1", 4000, ptPCMU)}, nil, jingle.RoleInitiator, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
