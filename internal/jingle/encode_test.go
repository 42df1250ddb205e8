package jingle

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"reflect"
	"testing"
)

// checkAppendXML fails unless AppendXML writes what xml.Marshal writes for
// j, and the result reads back through Decode as through encoding/xml
// (checked below roundTripMax bytes, to keep fuzzing quick).
func checkAppendXML(t *testing.T, j *Jingle, roundTripMax int) {
	t.Helper()
	want, err := xml.Marshal(j)
	if err != nil {
		t.Fatalf("xml.Marshal: %v", err)
	}
	prefix := []byte("<kept/>")
	got := j.AppendXML(bytes.Clone(prefix))
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("AppendXML differs from xml.Marshal for %#v\n got: %q\nwant: %q", j, got[min(len(got), len(prefix)):], want)
	}
	if j != nil && len(want) <= roundTripMax {
		checkDecode(t, want)
	}
}

func checkJMI(t *testing.T, m *JMI) {
	t.Helper()
	want, err := xml.Marshal(m)
	if err != nil {
		t.Fatalf("xml.Marshal: %v", err)
	}
	if got := m.AppendXML(nil); !bytes.Equal(got, want) {
		t.Fatalf("JMI AppendXML differs from xml.Marshal for %#v\n got: %q\nwant: %q", m, got, want)
	}
}

func TestAppendXMLFixtures(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		var j Jingle
		if xml.Unmarshal(iqPayload(t, f), &j) != nil {
			continue
		}
		checkAppendXML(t, &j, math.MaxInt)
		for i := range j.Contents {
			if d := j.Contents[i].Description; d != nil {
				m := NewJMI(JMIPropose, j.SID)
				m.Descriptions = append(m.Descriptions, *d)
				m.Reason = j.Reason
				checkJMI(t, m)
			}
		}
	}
}

// encodeCases are values that exercise encoding/xml's rules: omitempty,
// names from XMLName or the field, xmlns="" under a namespaced parent,
// attribute prefixes, escaping.
func encodeCases() []*Jingle {
	full := &Jingle{
		XMLName: xml.Name{Space: "ignored", Local: "ignored"},
		Action:  ActionSessionInitiate, SID: `s"'&<>` + "\t\n\r", Initiator: "a@b/c", Responder: "d@e/f",
		Contents: []Content{{
			Creator: RoleInitiator, Name: "audio", Senders: SendersBoth, Disposition: "session",
			Description: &Description{
				XMLName: xml.Name{Space: NSRTP, Local: "description"}, Media: "audio", SSRC: "1",
				PayloadTypes: []PayloadType{
					{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2, Ptime: 20, Maxptime: 120,
						Params: []Parameter{{Name: "minptime", Value: "10"}, {Value: "111/111"}},
						RTCPFB: []RTCPFB{{Type: "nack", Subtype: "pli"}}, TrrInt: &TrrInt{Value: 100}},
					{},
				},
				Bandwidth: &Bandwidth{Type: "AS", Value: "64 <kbit/s> &"},
				RTCPMux:   &Empty{}, RTCPFB: []RTCPFB{{Type: "ccm", Subtype: "fir"}}, RTCPFBTrrInt: &TrrInt{},
				HdrExts:          []HdrExt{{ID: 1, URI: "urn:x", Senders: SendersNone}, {}},
				ExtmapAllowMixed: &Empty{},
				Sources:          []Source{{SSRC: 1, Params: []Parameter{{Name: "cname", Value: "x"}}}},
				SSRCGroups:       []SSRCGroup{{Semantics: "FID", Sources: []Source{{SSRC: 1}, {SSRC: 4294967295}}}},
				Encryption:       &Encryption{Required: "1", Crypto: []Crypto{{Suite: "AES", KeyParams: "inline:x", SessionParams: "p", Tag: "1"}, {}}},
			},
			Transport: &Transport{
				XMLName: xml.Name{Space: NSICEUDP, Local: "transport"}, Ufrag: "u", Pwd: "p",
				Fingerprints: []Fingerprint{{Hash: "sha-256", Setup: "actpass", Value: "AB:CD"}, {}},
				Candidates: []Candidate{{Component: 1, Foundation: "f", Generation: 0, ID: "i", IP: "192.0.2.1", Port: 5000, Priority: 1,
					Protocol: "udp", Type: "host", RelAddr: "r", RelPort: 9, Network: "0"}, {}},
				Remote: &Candidate{Component: 2, IP: "::1", Port: 1},
			},
		}, {}},
		Group:  &Group{Semantics: "BUNDLE", Contents: []GroupContent{{Name: "audio"}, {}}},
		Reason: &Reason{Condition: Busy, Text: "486 Busy <Here>", SIPStatus: -486},
		Info: []Element{
			RTPInfo(InfoRinging),
			DTMF{Code: '#', Duration: 100}.Element(),
			{XMLName: xml.Name{Local: "bare"}, Inner: []byte("<raw a='1'>&amp;</raw>")},
			{},
			{XMLName: xml.Name{Space: "urn:lost"}, Attrs: []xml.Attr{{Name: xml.Name{Local: "a"}, Value: "1"}}},
			{XMLName: xml.Name{Space: "urn:e", Local: "e"}, Attrs: []xml.Attr{
				{Name: xml.Name{Space: xmlURL, Local: "lang"}, Value: "en"},
				{Name: xml.Name{Space: "http://example.com/ns/", Local: "a"}, Value: "1"},
				{Name: xml.Name{Space: "http://other.example/ns", Local: "b"}, Value: "2"},
				{Name: xml.Name{Space: "http://example.com/ns/", Local: "c"}, Value: "3"},
				{Name: xml.Name{Space: "urn:xmlish:XMLfoo", Local: "d"}},
				{Name: xml.Name{Space: "http://example.com/XMLish", Local: "d"}},
				{Name: xml.Name{Space: "http://example.com/xMl", Local: "d"}},
				{Name: xml.Name{Space: "http://example.com/.hidden", Local: "d"}},
				{Name: xml.Name{Space: "http://example.com/-dash", Local: "d"}},
				{Name: xml.Name{Space: "http://example.com/a.b-c_d", Local: "d"}},
				{Name: xml.Name{Space: "urn:a:b", Local: "e"}},
				{Name: xml.Name{Space: "1digit", Local: "f"}},
				{Name: xml.Name{Space: "///", Local: "g"}},
				{Name: xml.Name{Space: "xmlns", Local: "h"}},
				{Name: xml.Name{Space: "ns", Local: "i"}},
				{Name: xml.Name{Space: "x/ns", Local: "j"}},
				{Name: xml.Name{Space: "y/ns_1", Local: "k"}},
				{Name: xml.Name{Space: "z/ns", Local: "l"}},
				{Name: xml.Name{Space: "\u00e9t\u00e9", Local: "m"}},
				{Name: xml.Name{Space: "\u00b7x", Local: "n"}},
				{Name: xml.Name{Space: "urn:n", Local: ""}, Value: "dropped"},
				{Name: xml.Name{Local: "xmlns"}, Value: "urn:dup"},
			}},
		},
	}
	return []*Jingle{
		nil,
		{},
		full,
		{Action: ActionSessionTerminate, SID: "s", Reason: &Reason{}},
		{SID: "\xff\xfe\x00\x01\u0085\u2028\uFFFE\uFFFF\uFFFD\U0010FFFF" + "\xed\xa0\x80\xc0\xaf"},
		{Contents: []Content{{Description: &Description{}, Transport: &Transport{}}}},
		{Contents: []Content{{Description: &Description{XMLName: xml.Name{Local: "app"}}, Transport: &Transport{XMLName: xml.Name{Space: "urn:t"}}}}},
		{Info: []Element{{XMLName: xml.Name{Space: `a"b`, Local: "x"}}}},
	}
}

func TestAppendXMLMatchesMarshal(t *testing.T) {
	for _, j := range encodeCases() {
		checkAppendXML(t, j, math.MaxInt)
	}
}

func TestAppendXMLJMI(t *testing.T) {
	full := encodeCases()[2]
	for _, m := range []*JMI{
		nil,
		{},
		NewJMI(JMIPropose, "S1"),
		{XMLName: xml.Name{Space: NSJMI, Local: JMIPropose}, ID: "S2", Descriptions: []Description{
			*NewDescription("audio"), {}, {XMLName: xml.Name{Local: "description"}}, *full.Contents[0].Description}},
		{XMLName: xml.Name{Local: JMIReject}, ID: "S3", Descriptions: []Description{{XMLName: xml.Name{Local: "description"}}},
			Reason: &Reason{Condition: Busy, Text: "486", SIPStatus: 486}},
	} {
		checkJMI(t, m)
	}
	if b, err := MarshalJMI(NewJMI(JMIRetract, "S")); err != nil || !bytes.Equal(b, NewJMI(JMIRetract, "S").AppendXML(nil)) {
		t.Fatalf("MarshalJMI %s %v", b, err)
	}
}

// TestAppendXMLAllocs: appending to a buffer with room allocates nothing.
func TestAppendXMLAllocs(t *testing.T) {
	j := iqJingle(t, "01-session-initiate-from-caller.xml")
	buf := j.AppendXML(nil)
	n := testing.AllocsPerRun(20, func() { buf = j.AppendXML(buf[:0]) })
	if n != 0 {
		t.Fatalf("AppendXML allocates %v times", n)
	}
}

// mutate puts s, n and names derived from them into the fields whose
// encoding has rules of its own, as bits of n select.
func mutate(j *Jingle, s string, n uint32) {
	bit := func(i uint) bool { return n&(1<<i) != 0 }
	if bit(0) {
		j.SID, j.Initiator, j.Action = s, s, Action(s)
	}
	if bit(1) {
		j.Info = append(j.Info, Element{XMLName: xml.Name{Space: s, Local: "x"}, Inner: []byte(s)})
	}
	if bit(2) {
		j.Info = append(j.Info, Element{XMLName: xml.Name{Local: s}, Attrs: []xml.Attr{
			{Name: xml.Name{Space: s, Local: "a"}, Value: s},
			{Name: xml.Name{Space: "http://x/" + s, Local: "b"}, Value: s},
			{Name: xml.Name{Space: s + "/", Local: s}},
			{Name: xml.Name{Space: "urn:" + s, Local: "c"}},
		}})
	}
	if bit(3) {
		j.Reason = &Reason{Condition: Condition(s), Text: s, SIPStatus: int(int32(n))}
	}
	if bit(4) {
		j.Contents = append(j.Contents, Content{Name: s, Senders: Senders(s),
			Description: &Description{XMLName: xml.Name{Space: s, Local: s}, Media: s,
				PayloadTypes: []PayloadType{{ID: uint8(n), Clockrate: n, Name: s, Params: []Parameter{{Name: s, Value: s}}}},
				Bandwidth:    &Bandwidth{Type: s, Value: s}},
			Transport: &Transport{XMLName: xml.Name{Space: s}, Ufrag: s,
				Fingerprints: []Fingerprint{{Hash: s, Value: s}},
				Candidates:   []Candidate{{IP: s, Port: uint16(n), Priority: n}}}})
	}
	if bit(5) {
		j.Group = &Group{Semantics: s, Contents: []GroupContent{{Name: s}}}
	}
	if bit(6) && len(j.Info) > 0 {
		j.Info[0].XMLName.Local = ""
	}
}

func FuzzAppendXMLMatchesMarshal(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		f.Add(iqPayload(f, file), "", uint32(0))
	}
	f.Add([]byte(`<jingle xmlns='urn:xmpp:jingle:1'/>`), "a\"b'c&d<e>f\tg\nh\ri", uint32(0x7f))
	f.Add([]byte(`<jingle xmlns='urn:xmpp:jingle:1'><x a='1'/></jingle>`), "http://example.com/xmlns/", uint32(0x46))
	f.Add([]byte{}, "\xff\x00\uFFFE", uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, in []byte, s string, n uint32) {
		var j Jingle
		if xml.Unmarshal(in, &j) != nil {
			j = Jingle{}
		}
		mutate(&j, s, n)
		checkAppendXML(t, &j, 4096)
		m := &JMI{XMLName: xml.Name{Space: s, Local: "propose"}, ID: s, Reason: j.Reason}
		if n&(1<<7) != 0 {
			m.XMLName.Local = ""
		}
		for _, c := range j.Contents {
			if c.Description != nil {
				m.Descriptions = append(m.Descriptions, *c.Description)
			}
		}
		checkJMI(t, m)
	})
}

// TestRoundTrip: what AppendXML writes decodes, through Decode, to what
// encoding/xml reads back from xml.Marshal's bytes, which are the same.
func TestRoundTrip(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		j, err := Decode(iqPayload(t, f))
		if err != nil {
			continue
		}
		again, err := Decode(j.AppendXML(nil))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var want Jingle
		b, _ := xml.Marshal(j)
		if err := xml.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, &want) {
			t.Fatalf("%s: round trip differs", f)
		}
		if raw, _ := os.ReadFile(f); len(raw) == 0 {
			t.Fatal("empty fixture")
		}
	}
}
