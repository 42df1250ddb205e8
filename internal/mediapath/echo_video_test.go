package mediapath

import (
	"encoding/binary"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
)

// audioVideo is a browser-like offer: audio and video on the transport t,
// the video with VP8 after H264, rtx and red, and congestion feedback.
func audioVideo(t *jingle.Transport) []jingle.Content {
	cs := audio(t, jingle.PayloadType{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2}, dtmf126)
	d := jingle.NewDescription("video")
	fbs := []jingle.RTCPFB{{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}}
	d.PayloadTypes = []jingle.PayloadType{
		{ID: 102, Name: "H264", Clockrate: 90000, RTCPFB: fbs},
		{ID: 103, Name: "rtx", Clockrate: 90000, Params: []jingle.Parameter{{Name: "apt", Value: "102"}}},
		{ID: 96, Name: "VP8", Clockrate: 90000, RTCPFB: fbs},
		{ID: 97, Name: "rtx", Clockrate: 90000, Params: []jingle.Parameter{{Name: "apt", Value: "96"}}},
		{ID: 116, Name: "red", Clockrate: 90000},
	}
	d.HdrExts = []jingle.HdrExt{
		{ID: 3, URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
		{ID: 4, URI: "urn:3gpp:video-orientation"},
	}
	d.Sources = []jingle.Source{{SSRC: 0x0b0b0b0b, Params: []jingle.Parameter{{Name: "cname", Value: "caller"}}}}
	return append(cs, jingle.Content{Creator: jingle.RoleInitiator, Name: "video", Senders: jingle.SendersBoth, Description: d, Transport: t})
}

var bundle = &jingle.Group{Semantics: "BUNDLE", Contents: []jingle.GroupContent{{Name: "audio"}, {Name: "video"}}}

func TestEchoAnswersBundledVideo(t *testing.T) {
	r := newRelay(t, time.Minute)
	p, err := r.OpenEcho(func(err error) { t.Errorf("ended: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	user := udp(t)
	ans, err := p.Answer(audioVideo(raw(addrOf(user))), bundle)
	if err != nil {
		t.Fatal(err)
	}
	v := ans[1]
	if v.Senders == jingle.SendersNone || v.Description == nil || v.Transport == nil {
		t.Fatalf("video answered %+v: want it echoed", v)
	}
	if candidateAddr(t, v.Transport) != candidateAddr(t, ans[0].Transport) {
		t.Fatalf("video transport %+v is not the audio's", v.Transport)
	}
	pts := v.Description.PayloadTypes
	if len(pts) != 1 || pts[0].Name != "VP8" || pts[0].ID != 96 {
		t.Fatalf("video codecs %+v: want VP8 alone", pts)
	}
	want := []jingle.RTCPFB{{Type: "ccm", Subtype: "fir"}, {Type: "nack"}, {Type: "nack", Subtype: "pli"}}
	if got := pts[0].RTCPFB; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("video rtcp-fb %+v: want %+v", got, want)
	}
	if h := v.Description.HdrExts; len(h) != 1 || h[0].ID != 4 {
		t.Fatalf("video header extensions %+v: want transport-wide-cc gone", h)
	}
	as, vs := ans[0].Description.Sources, v.Description.Sources
	if len(as) != 1 || len(vs) != 1 || vs[0].SSRC == 0 || vs[0].SSRC == as[0].SSRC || vs[0].SSRC == 0x0b0b0b0b {
		t.Fatalf("sources audio %+v video %+v: want one echo SSRC each", as, vs)
	}

	leg := candidateAddr(t, ans[0].Transport)
	for _, c := range []struct {
		pt   uint8
		want uint32
	}{{111, as[0].SSRC}, {96, vs[0].SSRC}, {97, vs[0].SSRC}} {
		pkt := []byte{0x80, c.pt, 0, 1, 0, 0, 0, 160, 0x0b, 0x0b, 0x0b, 0x0b, 1, 2, 3, 4}
		if _, err := user.WriteToUDPAddrPort(pkt, leg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		_ = user.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := user.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("PT %d not echoed: %v", c.pt, err)
		}
		if got := binary.BigEndian.Uint32(buf[8:12]); n != len(pkt) || got != c.want {
			t.Fatalf("PT %d came back under SSRC %#x, want %#x", c.pt, got, c.want)
		}
	}
}

func TestEchoRefusesUnbundledVideo(t *testing.T) {
	for name, group := range map[string]*jingle.Group{
		"no group":           nil,
		"video outside":      {Semantics: "BUNDLE", Contents: []jingle.GroupContent{{Name: "audio"}}},
		"not BUNDLE":         {Semantics: "LS", Contents: bundle.Contents},
		"audio outside only": {Semantics: "BUNDLE", Contents: []jingle.GroupContent{{Name: "video"}}},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRelay(t, time.Minute)
			p, err := r.OpenEcho(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ans, err := p.Answer(audioVideo(raw(addrOf(udp(t)))), group)
			if err != nil {
				t.Fatal(err)
			}
			if ans[0].Senders == jingle.SendersNone || ans[1].Senders != jingle.SendersNone {
				t.Fatalf("answer senders audio %q video %q: want the audio only", ans[0].Senders, ans[1].Senders)
			}
		})
	}
}

func TestEchoVideoNeedsACodec(t *testing.T) {
	d := jingle.NewDescription("video")
	d.PayloadTypes = []jingle.PayloadType{{ID: 97, Name: "rtx", Clockrate: 90000}}
	if _, err := echoVideoDescription(d, 1); err == nil {
		t.Fatal("a video offer with only rtx was answered")
	}
	d.PayloadTypes = append(d.PayloadTypes, jingle.PayloadType{ID: 98, Name: "VP9", Clockrate: 90000})
	got, err := echoVideoDescription(d, 1)
	if err != nil || len(got.PayloadTypes) != 1 || got.PayloadTypes[0].Name != "VP9" {
		t.Fatalf("got %+v, %v: want VP9 when there is no VP8", got, err)
	}
}
