package jingle

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

// iqJingle pulls the <jingle/> out of a captured iq.
func iqJingle(t testing.TB, name string) *Jingle {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var iq struct {
		Jingle Jingle `xml:"urn:xmpp:jingle:1 jingle"`
	}
	if err := xml.Unmarshal(b, &iq); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &iq.Jingle
}

func TestFixtureSessionInitiate(t *testing.T) {
	j := iqJingle(t, "01-session-initiate-from-caller.xml")
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	if j.Action != ActionSessionInitiate || len(j.Contents) != 2 {
		t.Fatalf("action %q, %d contents", j.Action, len(j.Contents))
	}
	audio := j.Content("0")
	d := audio.Description
	if !d.IsRTP() || d.Media != "audio" || len(d.PayloadTypes) != 8 || d.RTCPMux == nil {
		t.Fatalf("audio description %+v", d)
	}
	opus := d.PayloadTypes[0]
	if opus.ID != 111 || opus.Name != "opus" || opus.Clockrate != 48000 || opus.Channels != 2 ||
		len(opus.Params) != 2 || len(opus.RTCPFB) != 1 || opus.RTCPFB[0].Type != "transport-cc" {
		t.Fatalf("opus %+v", opus)
	}
	if red := d.PayloadTypes[1]; len(red.Params) != 1 || red.Params[0].Name != "" || red.Params[0].Value != "111/111" {
		t.Fatalf("red parameter without a name: %+v", red.Params)
	}
	if len(d.HdrExts) != 4 || d.HdrExts[3].URI != "urn:ietf:params:rtp-hdrext:sdes:mid" {
		t.Fatalf("hdrext %+v", d.HdrExts)
	}
	if len(d.Sources) != 1 || d.Sources[0].SSRC != 3347765753 || len(d.Sources[0].Params) != 2 {
		t.Fatalf("sources %+v", d.Sources)
	}
	tr := audio.Transport
	if !tr.IsICE() || tr.Ufrag != "PxQj" || len(tr.Fingerprints) != 1 || tr.Fingerprints[0].Setup != "actpass" || len(tr.Candidates) != 0 {
		t.Fatalf("transport %+v", tr)
	}
	if video := j.Content("1"); video.Senders != SendersResponder || video.Description.Media != "video" {
		t.Fatalf("video %+v", video)
	}
	if j.Group == nil || j.Group.Semantics != "BUNDLE" || len(j.Group.Contents) != 2 {
		t.Fatalf("group %+v", j.Group)
	}
}

func TestFixturesRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/0[1-9]-*.xml")
	if len(files) < 8 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, f := range files {
		j := iqJingle(t, filepath.Base(f))
		if err := j.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		b, err := xml.Marshal(j)
		if err != nil {
			t.Fatalf("%s: marshal: %v", f, err)
		}
		var again Jingle
		if err := xml.Unmarshal(b, &again); err != nil {
			t.Fatalf("%s: re-read: %v", f, err)
		}
		b2, _ := xml.Marshal(&again)
		if !bytes.Equal(b, b2) {
			t.Errorf("%s: not stable across a round trip:\n%s\n%s", f, b, b2)
		}
	}
}

func TestFixtureDetails(t *testing.T) {
	ti := iqJingle(t, "02-transport-info-from-caller.xml")
	c := ti.Contents[0].Transport.Candidates
	if len(c) != 1 || c[0].IP == "" || c[0].Port == 0 || c[0].Component != 1 {
		t.Fatalf("candidate %+v", c)
	}
	info := iqJingle(t, "06-session-info-from-callee.xml")
	if e, ok := info.SessionInfo(); !ok || e.XMLName.Space != NSRTPInfo || e.XMLName.Local != InfoRinging {
		t.Fatalf("session-info %+v %v", e, ok)
	}
	term := iqJingle(t, "09-session-terminate-from-caller.xml")
	if term.Reason == nil || term.Reason.Condition != Success {
		t.Fatalf("reason %+v", term.Reason)
	}
	accept := iqJingle(t, "07-session-accept-from-callee.xml")
	if fp := accept.Contents[0].Transport.Fingerprints[0]; fp.Setup != "active" || fp.Hash != "sha-256" {
		t.Fatalf("answer fingerprint %+v", fp)
	}
}

func TestReasonRoundTrip(t *testing.T) {
	cases := []Reason{
		{Condition: Busy, Text: "486 Busy Here", SIPStatus: 486},
		{Condition: Success},
		{Condition: "made-up"},
	}
	for _, r := range cases {
		b, err := xml.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var got Reason
		if err := xml.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got != r {
			t.Errorf("%s: got %+v want %+v", b, got, r)
		}
	}
	var empty Reason
	if err := xml.Unmarshal([]byte(`<reason><text>x</text></reason>`), &empty); err != nil || empty.Condition != "" {
		t.Fatalf("%+v %v", empty, err)
	}
	j := Jingle{SID: "s", Action: ActionSessionTerminate, Reason: &empty}
	if err := j.Validate(); err == nil {
		t.Fatal("reason without condition accepted")
	}
}

func TestJMIAndDTMF(t *testing.T) {
	m := NewJMI(JMIPropose, "S1")
	m.Descriptions = []Description{*NewDescription("audio")}
	b, err := xml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got JMI
	if err := xml.Unmarshal(b, &got); err != nil || got.Kind() != JMIPropose || got.ID != "S1" || len(got.Media()) != 1 {
		t.Fatalf("%s → %+v %v", b, got, err)
	}
	for _, tc := range []struct {
		code, dur string
		ok        bool
	}{{"5", "100", true}, {"#", "", true}, {"55", "", false}, {"x", "", false}, {"1", "-3", false}, {"1", "abc", false}} {
		e := Element{XMLName: xml.Name{Space: NSDTMF, Local: "dtmf"},
			Attrs: []xml.Attr{{Name: xml.Name{Local: "code"}, Value: tc.code}, {Name: xml.Name{Local: "duration"}, Value: tc.dur}}}
		if tc.dur == "" {
			e.Attrs = e.Attrs[:1]
		}
		d, err := ParseDTMF(e)
		if (err == nil) != tc.ok {
			t.Errorf("%q/%q: %v", tc.code, tc.dur, err)
		}
		if tc.ok && d.Element().Attr("code") != tc.code {
			t.Errorf("%q: re-encoded as %+v", tc.code, d.Element())
		}
	}
}

func TestValidate(t *testing.T) {
	desc := NewDescription("audio")
	cases := map[string]Jingle{
		"no sid":       {Action: ActionSessionInitiate},
		"no content":   {SID: "s", Action: ActionSessionInitiate},
		"unnamed":      {SID: "s", Action: ActionSessionAccept, Contents: []Content{{Description: desc}}},
		"duplicate":    {SID: "s", Action: ActionSessionAccept, Contents: []Content{{Name: "a"}, {Name: "a"}}},
		"senders":      {SID: "s", Action: ActionContentModify, Contents: []Content{{Name: "a", Senders: "everyone"}}},
		"no component": {SID: "s", Action: ActionTransportInfo, Contents: []Content{{Name: "a", Transport: &Transport{Candidates: []Candidate{{IP: "1.2.3.4"}}}}}},
	}
	for name, j := range cases {
		if err := j.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, fn := range files {
		b, _ := os.ReadFile(fn)
		f.Add(b)
	}
	f.Add([]byte(`<jingle xmlns='urn:xmpp:jingle:1' sid='x' action='session-info'><dtmf xmlns='urn:xmpp:jingle:dtmf:0' code='1'/></jingle>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var j Jingle
		if xml.Unmarshal(b, &j) != nil {
			return
		}
		_ = j.Validate()
		if e, ok := j.SessionInfo(); ok {
			_, _ = ParseDTMF(e)
		}
		out, err := xml.Marshal(&j)
		if err != nil {
			return
		}
		var again Jingle
		if err := xml.Unmarshal(out, &again); err != nil {
			t.Fatalf("marshalled jingle does not parse: %v\n%s", err, out)
		}
	})
}
