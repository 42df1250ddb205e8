package jinglesdp

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fargo.dev/fargo/internal/jingle"
)

// session is the session part most parse tests share.
var session = []string{"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"}

func offer(lines ...string) []byte { return sdpOf(append(slices.Clone(session), lines...)...) }

// parseOffer parses the session above plus lines, written by the initiator.
func parseOffer(t *testing.T, lines ...string) *Media {
	t.Helper()
	return mustParse(t, offer(lines...), jingle.RoleInitiator, nil)
}

// TestPayloadTypeRules covers protocol-map §3.3.
func TestPayloadTypeRules(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  []jingle.PayloadType
		warn  string
	}{
		{"G722 clock is 8000 even when written 16000",
			[]string{"m=audio 4000 RTP/AVP 9", "a=rtpmap:9 G722/16000"},
			[]jingle.PayloadType{{ID: 9, Name: "G722", Clockrate: 8000}}, "corrected to 8000"},
		{"static payload types without rtpmap get RFC 3551 names",
			[]string{"m=audio 4000 RTP/AVP 0 8 9 18"},
			[]jingle.PayloadType{ptPCMU, ptPCMA, ptG722, ptG729}, ""},
		{"opus has two channels even without /2",
			[]string{"m=audio 4000 RTP/AVP 96", "a=rtpmap:96 opus/48000"},
			[]jingle.PayloadType{{ID: 96, Name: "opus", Clockrate: 48000, Channels: 2}}, ""},
		{"channels 1 is the default and left out",
			[]string{"m=audio 4000 RTP/AVP 96", "a=rtpmap:96 L16/8000/1"},
			[]jingle.PayloadType{{ID: 96, Name: "L16", Clockrate: 8000}}, ""},
		{"value-only fmtp becomes a parameter without name",
			[]string{"m=audio 4000 RTP/AVP 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-11,16"},
			[]jingle.PayloadType{{ID: 101, Name: "telephone-event", Clockrate: 8000, Params: []jingle.Parameter{{Value: "0-11,16"}}}}, ""},
		{"fmtp split on ; with spaces tolerated",
			[]string{"m=audio 4000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10; useinbandfec=1 ;stereo = 1"},
			[]jingle.PayloadType{{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2, Params: []jingle.Parameter{
				{Name: "minptime", Value: "10"}, {Name: "useinbandfec", Value: "1"}, {Name: "stereo", Value: "1"}}}}, ""},
		{"ptime and maxptime go to every payload type",
			[]string{"m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:20", "a=maxptime:40"},
			[]jingle.PayloadType{{ID: 0, Name: "PCMU", Clockrate: 8000, Ptime: 20, Maxptime: 40},
				{ID: 101, Name: "telephone-event", Clockrate: 8000, Ptime: 20, Maxptime: 40}}, ""},
		{"m-line order is the preference order, not rtpmap order",
			[]string{"m=audio 4000 RTP/AVP 8 0", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"},
			[]jingle.PayloadType{ptPCMA, ptPCMU}, ""},
		{"dynamic payload type without rtpmap is dropped",
			[]string{"m=audio 4000 RTP/AVP 0 96"},
			[]jingle.PayloadType{ptPCMU}, "96 has no a=rtpmap"},
		{"rtcp-fb per payload type and trr-int",
			[]string{"m=video 4000 RTP/AVPF 96", "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 trr-int 100"},
			[]jingle.PayloadType{{ID: 96, Name: "VP8", Clockrate: 90000, RTCPFB: []jingle.RTCPFB{{Type: "nack", Subtype: "pli"}}, TrrInt: &jingle.TrrInt{Value: 100}}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseOffer(t, c.lines...)
			if diff := cmp.Diff(c.want, m.Contents[0].Description.PayloadTypes); diff != "" {
				t.Errorf("payload types (-want +got):\n%s", diff)
			}
			if c.warn != "" && !hasWarning(m, c.warn) {
				t.Errorf("no warning containing %q in %q", c.warn, m.Warnings)
			}
		})
	}
}

// TestCandidateHygiene covers protocol-map §7 item 25 and §3.5.
func TestCandidateHygiene(t *testing.T) {
	m := parseOffer(t,
		"a=ice-ufrag:sess",
		"a=ice-pwd:sessionpasswordsessionpwd",
		"m=audio 4000 RTP/AVP 0",
		"a=candidate:abc+/1 1 UDP 2122260223 192.0.2.10 4000 typ host generation 2",
		"a=candidate:2 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active",
		"a=candidate:3 1 udp 2113937151 1f0e1d2c.local 4002 typ host",
		"a=candidate:4 1 udp 2113937151 pbx.example.net 4002 typ host",
		"a=candidate:5 1 udp 1686052607 198.51.100.7 4000 typ srflx raddr 192.0.2.10 rport 4000",
		"a=candidate:6 2 udp 1686052606 198.51.100.7 4001 typ srflx",
		"a=candidate:7 1 udp 1 192.0.2.10 4000 typ bogus",
		"a=candidate:8 1 udp 1 192.0.2.10",
		"m=audio 5000 RTP/AVP 0",
		"a=ice-ufrag:media",
		"a=candidate:9 1 udp 2122260223 192.0.2.10 5000 typ host",
	)
	tr := m.Contents[0].Transport
	if !tr.IsICE() || tr.Ufrag != "sess" || tr.Pwd != "sessionpasswordsessionpwd" {
		t.Fatalf("session-level ICE not applied: %+v", tr)
	}
	want := []jingle.Candidate{
		{Component: 1, Foundation: "abc+/1", Generation: 2, ID: "c1", IP: "192.0.2.10", Port: 4000, Priority: 2122260223, Protocol: "udp", Type: "host"},
		{Component: 1, Foundation: "5", ID: "c2", IP: "198.51.100.7", Port: 4000, Priority: 1686052607, Protocol: "udp", Type: "srflx", RelAddr: "192.0.2.10", RelPort: 4000},
		{Component: 2, Foundation: "6", ID: "c3", IP: "198.51.100.7", Port: 4001, Priority: 1686052606, Protocol: "udp", Type: "srflx"},
	}
	if diff := cmp.Diff(want, tr.Candidates); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	for _, w := range []string{"dropped tcp candidate", "1f0e1d2c.local", "pbx.example.net", "malformed candidate"} {
		if !hasWarning(m, w) {
			t.Errorf("no warning about %q: %q", w, m.Warnings)
		}
	}
	if tr2 := m.Contents[1].Transport; tr2.Ufrag != "media" || tr2.Pwd != "sessionpasswordsessionpwd" || tr2.Candidates[0].ID != "c4" {
		t.Errorf("media-level ufrag must override, pwd inherit, ids stay unique: %+v", tr2)
	}
}

// TestRawUDPTransport covers protocol-map §3.7.
func TestRawUDPTransport(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  []jingle.Candidate
	}{
		{"RTCP at port+1", []string{"m=audio 4000 RTP/AVP 0"},
			[]jingle.Candidate{{Component: 1, ID: "r1", IP: "192.0.2.1", Port: 4000}, {Component: 2, ID: "r2", IP: "192.0.2.1", Port: 4001}}},
		{"a=rtcp port", []string{"m=audio 4000 RTP/AVP 0", "a=rtcp:4010"},
			[]jingle.Candidate{{Component: 1, ID: "r1", IP: "192.0.2.1", Port: 4000}, {Component: 2, ID: "r2", IP: "192.0.2.1", Port: 4010}}},
		{"a=rtcp port and address", []string{"m=audio 4000 RTP/AVP 0", "a=rtcp:4010 IN IP4 192.0.2.9"},
			[]jingle.Candidate{{Component: 1, ID: "r1", IP: "192.0.2.1", Port: 4000}, {Component: 2, ID: "r2", IP: "192.0.2.9", Port: 4010}}},
		{"rtcp-mux has no component 2", []string{"m=audio 4000 RTP/AVP 0", "a=rtcp-mux"},
			[]jingle.Candidate{{Component: 1, ID: "r1", IP: "192.0.2.1", Port: 4000}}},
		{"media-level c= wins", []string{"m=audio 4000 RTP/AVP 0", "c=IN IP6 2001:db8::5", "a=rtcp-mux"},
			[]jingle.Candidate{{Component: 1, ID: "r1", IP: "2001:db8::5", Port: 4000}}},
		{"FQDN c= gives no candidate", []string{"m=audio 4000 RTP/AVP 0", "c=IN IP4 pbx.example.net"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseOffer(t, c.lines...)
			tr := m.Contents[0].Transport
			if !tr.IsRawUDP() {
				t.Fatalf("not raw-UDP: %+v", tr)
			}
			if diff := cmp.Diff(c.want, tr.Candidates); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDTLSAndSDES(t *testing.T) {
	m := parseOffer(t,
		"a=fingerprint:SHA-1 AA:BB",
		"a=fingerprint:SHA-256 CC:DD",
		"a=setup:ActPass",
		"m=audio 4000 RTP/SAVP 0",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY KDR=1 UNENCRYPTED_SRTCP",
		"m=audio 5000 UDP/TLS/RTP/SAVPF 0",
		"a=fingerprint:sha-512 EE:FF",
		"a=setup:active",
	)
	fps := m.Contents[0].Transport.Fingerprints
	if len(fps) != 2 || fps[0] != (jingle.Fingerprint{Hash: "sha-256", Setup: "actpass", Value: "CC:DD"}) || fps[1].Hash != "sha-1" {
		t.Errorf("session fingerprints, sha-256 first: %+v", fps)
	}
	want := &jingle.Encryption{Required: "1", Crypto: []jingle.Crypto{{Tag: "1", Suite: "AES_CM_128_HMAC_SHA1_80", KeyParams: "inline:KEY", SessionParams: "KDR=1 UNENCRYPTED_SRTCP"}}}
	if diff := cmp.Diff(want, m.Contents[0].Description.Encryption); diff != "" {
		t.Errorf("encryption (-want +got):\n%s", diff)
	}
	if fps := m.Contents[1].Transport.Fingerprints; len(fps) != 1 || fps[0] != (jingle.Fingerprint{Hash: "sha-512", Setup: "active", Value: "EE:FF"}) {
		t.Errorf("media fingerprint must override: %+v", fps)
	}
}

func TestContentNames(t *testing.T) {
	m := parseOffer(t,
		"m=audio 4000 RTP/AVP 0", "m=audio 4002 RTP/AVP 0", "m=video 4004 RTP/AVP 31",
		"m=audio 4006 RTP/AVP 0", "a=mid:x", "m=audio 4008 RTP/AVP 0", "a=mid:x",
	)
	if got, want := m.Names(), []string{"audio", "audio-2", "video", "x", "x-2"}; !slices.Equal(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	m = mustParse(t, offer("a=group:BUNDLE a b", "m=audio 4000 RTP/AVP 0", "a=mid:a", "m=video 4002 RTP/AVP 31", "a=mid:b"),
		jingle.RoleResponder, []string{"voice", "camera"})
	if got := m.Names(); !slices.Equal(got, []string{"voice", "camera"}) {
		t.Errorf("names must echo the offer: %q", got)
	}
	if m.Group == nil || len(m.Group.Contents) != 2 || m.Group.Contents[1].Name != "camera" {
		t.Errorf("group mids must map to names: %+v", m.Group)
	}
}

func TestHold(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		hold  bool
	}{
		{"sendrecv", []string{"m=audio 4000 RTP/AVP 0"}, false},
		{"c=0.0.0.0", []string{"m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0"}, true},
		{"sendonly", []string{"m=audio 4000 RTP/AVP 0", "a=sendonly"}, true},
		{"session-level inactive", []string{"a=inactive", "m=audio 4000 RTP/AVP 0"}, true},
		{"one line still receiving", []string{"m=audio 4000 RTP/AVP 0", "a=sendonly", "m=video 4002 RTP/AVP 31", "a=recvonly"}, false},
		{"rejected lines do not count", []string{"m=audio 4000 RTP/AVP 0", "a=sendonly", "m=video 0 RTP/AVP 31"}, true},
		{"ICE trickle placeholder is not hold", []string{"m=audio 9 RTP/AVP 0", "c=IN IP4 0.0.0.0", "a=ice-ufrag:abcd", "a=ice-pwd:abcdabcdabcdabcdabcdabcd"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseOffer(t, c.lines...)
			if m.Hold != c.hold {
				t.Errorf("Hold = %v, want %v", m.Hold, c.hold)
			}
		})
	}
	// RFC 2543 hold with sendrecv: the author stops receiving.
	m := mustParse(t, offer("m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0"), jingle.RoleResponder, nil)
	if got := m.Contents[0].Senders; got != jingle.SendersResponder {
		t.Errorf("c=0.0.0.0 by the responder: senders %s, want responder", got)
	}
}

func TestRejectedLines(t *testing.T) {
	m := parseOffer(t,
		"m=audio 4000 RTP/AVP 0",
		"m=video 0 RTP/AVP 31",
		"m=message 4004 TCP/MSRP *",
		"m=audio 4006 TCP/RTP/AVP 0",
		"m=audio 4008 RTP/AVP abc",
	)
	wantRejected := []bool{false, true, true, true, true}
	for i, l := range m.Lines {
		if l.Rejected != wantRejected[i] {
			t.Errorf("line %d (%s %s) rejected=%v", i, l.Media, l.Proto, l.Rejected)
		}
		c := m.Contents[i]
		if l.Rejected && (c.Senders != jingle.SendersNone || len(c.Description.PayloadTypes) != 0 || c.Transport != nil) {
			t.Errorf("rejected line %d content %+v", i, c)
		}
	}
	if got := len(m.Accepted()); got != 1 {
		t.Errorf("Accepted() has %d contents", got)
	}
	if l := m.Lines[2]; l.Media != "message" || l.Proto != "TCP/MSRP" || !slices.Equal(l.Formats, []string{"*"}) {
		t.Errorf("verbatim line %+v", l)
	}
}

// TestNormaliser feeds the orderings and omissions pion/sdp refuses.
func TestNormaliser(t *testing.T) {
	media := []string{"m=audio 4000 RTP/AVP 0"}
	cases := map[string][]string{
		"t before c":              {"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "t=0 0", "c=IN IP4 192.0.2.1"},
		"no t":                    {"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1"},
		"no s":                    {"v=0", "o=- 1 1 IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1", "t=0 0"},
		"a before c":              {"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "a=tool:x", "c=IN IP4 192.0.2.1", "t=0 0"},
		"unknown line type":       {"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "y=3gpp", "c=IN IP4 192.0.2.1", "t=0 0"},
		"indented and padded":     {"  v=0 ", "o=- 1 1 IN IP4 192.0.2.1  ", "s=-", "c=IN  IP4\t192.0.2.1", "t=0 0"},
		"malformed c and b":       {"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "b=AS:x", "t=0 0"},
		"u= that is not a URL":    {"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "u=%zz", "c=IN IP4 192.0.2.1", "t=0 0"},
		"no v":                    {"o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"},
		"o= with a missing field": {"v=0", "o=- 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"},
	}
	for name, sess := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := ParseSDP(sdpOf(append(slices.Clone(sess), media...)...), jingle.RoleInitiator, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Contents) != 1 || m.Contents[0].Transport.Candidates[0].IP != "192.0.2.1" {
				t.Errorf("contents %+v", m.Contents)
			}
		})
	}
	// LF only, CR only, no final newline: all the same SDP.
	b := string(offer("m=audio 4000 RTP/AVP 0", "a=ptime:20"))
	want := mustParse(t, []byte(b), jingle.RoleInitiator, nil)
	for _, v := range []string{strings.ReplaceAll(b, "\r\n", "\n"), strings.ReplaceAll(b, "\r\n", "\r"), strings.TrimSuffix(b, "\r\n")} {
		got := mustParse(t, []byte(v), jingle.RoleInitiator, nil)
		if diff := cmp.Diff(want.Contents, got.Contents); diff != "" {
			t.Errorf("line endings %q changed the result:\n%s", v[len(v)-6:], diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, body := range []string{"", "hello", "v=0\r\n", "m=audio x RTP/AVP 0\r\n", "v=0\r\nm=audio\r\n", "s=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"} {
		if _, err := ParseSDP([]byte(body), jingle.RoleInitiator, nil); !errors.Is(err, ErrBadSDP) {
			t.Errorf("ParseSDP(%q) = %v, want ErrBadSDP", body, err)
		}
	}
	if _, err := ParseSDP(offer("m=audio 4000 RTP/AVP 0"), "caller", nil); err == nil {
		t.Error("a bad author role must fail")
	}
}

func TestMediaAttributes(t *testing.T) {
	m := mustParse(t, offer(
		"m=audio 4000 RTP/AVPF 111",
		"b=AS:64",
		"a=rtpmap:111 opus/48000/2",
		"a=rtcp-fb:* nack",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"a=extmap:2/sendonly urn:x",
		"a=extmap-allow-mixed",
		"a=ssrc-group:FID 1 2",
		"a=ssrc:1 cname:c",
		"a=ssrc:1 msid:s t",
		"a=ssrc:2 x-flag",
		"a=rtcp-mux",
	), jingle.RoleResponder, nil)
	d := m.Contents[0].Description
	want := &jingle.Description{
		XMLName: d.XMLName, Media: "audio",
		PayloadTypes:     []jingle.PayloadType{ptOpus},
		Bandwidth:        &jingle.Bandwidth{Type: "AS", Value: "64"},
		RTCPMux:          &jingle.Empty{},
		RTCPFB:           []jingle.RTCPFB{{Type: "nack"}},
		HdrExts:          []jingle.HdrExt{{ID: 1, URI: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}, {ID: 2, URI: "urn:x", Senders: jingle.SendersResponder}},
		ExtmapAllowMixed: &jingle.Empty{},
		Sources: []jingle.Source{
			{SSRC: 1, Params: []jingle.Parameter{{Name: "cname", Value: "c"}, {Name: "msid", Value: "s t"}}},
			{SSRC: 2, Params: []jingle.Parameter{{Name: "x-flag"}}},
		},
		SSRCGroups: []jingle.SSRCGroup{{Semantics: "FID", Sources: []jingle.Source{{SSRC: 1}, {SSRC: 2}}}},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("description (-want +got):\n%s", diff)
	}
}

func hasWarning(m *Media, sub string) bool {
	return slices.ContainsFunc(m.Warnings, func(w string) bool { return strings.Contains(w, sub) })
}
