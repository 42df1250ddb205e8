package echo

import (
	"strings"
	"testing"
	"time"
)

func TestNegotiate(t *testing.T) {
	cases := []struct {
		name, offer string
		codec, ev   string // chosen payload types, "" for none
		dir         string
		err         string
	}{
		{"PCMU first", offerSDP(4000, 1, "RTP/AVP", "0 8 101", "rtpmap:101 telephone-event/8000"), "0", "101", "sendrecv", ""},
		{"offer order decides", offerSDP(4000, 1, "RTP/AVP", "18 8 0"), "8", "", "sendrecv", ""},
		{"G722 static", offerSDP(4000, 1, "RTP/AVP", "9 0"), "9", "", "sendrecv", ""},
		{"opus with 48k events only", offerSDP(4000, 1, "RTP/AVP", "111 101 102", "rtpmap:111 opus/48000/2",
			"rtpmap:101 telephone-event/8000", "rtpmap:102 telephone-event/48000"), "111", "102", "sendrecv", ""},
		{"case-insensitive names", offerSDP(4000, 1, "RTP/AVPF", "96", "rtpmap:96 OPUS/48000/2"), "96", "", "sendrecv", ""},
		{"hold", offerSDP(4000, 1, "RTP/AVP", "0", "sendonly"), "0", "", "recvonly", ""},
		{"inactive", offerSDP(4000, 1, "RTP/AVP", "0", "inactive"), "0", "", "inactive", ""},
		{"session-level direction", strings.Replace(offerSDP(4000, 1, "RTP/AVP", "0"), "t=0 0\r\n", "t=0 0\r\na=sendonly\r\n", 1), "0", "", "recvonly", ""},
		{"nothing usable", offerSDP(4000, 1, "RTP/AVP", "3 96", "rtpmap:96 AMR/8000"), "", "", "", "offered GSM/8000, AMR/8000"},
		{"SRTP", offerSDP(4000, 1, "RTP/SAVP", "0"), "", "", "", "offered RTP/SAVP"},
		{"DTLS", offerSDP(4000, 1, "UDP/TLS/RTP/SAVPF", "111", "rtpmap:111 opus/48000/2"), "", "", "", "UDP/TLS/RTP/SAVPF"},
		{"garbage", "hello", "", "", "", "unreadable SDP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := negotiate([]byte(tc.offer))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ev := ""
			if p.event != nil {
				ev = p.event.pt
			}
			if p.codec.pt != tc.codec || ev != tc.ev || p.dir != tc.dir {
				t.Fatalf("chose %s+%q %s, want %s+%q %s", p.codec.pt, ev, p.dir, tc.codec, tc.ev, tc.dir)
			}
		})
	}
}

func TestAnswerKeepsMLinesAndVersion(t *testing.T) {
	offer := offerSDP(4000, 1, "RTP/AVP", "0") + "m=video 4002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
	p, err := negotiate([]byte(offer))
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{id: 7}
	a1 := string(p.answer(o, "127.0.0.1", 30000))
	for _, want := range []string{"o=fargo-echo 7 1 IN IP4 127.0.0.1\r\n", "m=audio 30000 RTP/AVP 0\r\n", "m=video 0 RTP/AVP 96\r\n", "a=sendrecv\r\n"} {
		if !strings.Contains(a1, want) {
			t.Errorf("answer lacks %q:\n%s", want, a1)
		}
	}
	if strings.Index(a1, "m=audio") > strings.Index(a1, "m=video") {
		t.Errorf("m-lines reordered:\n%s", a1)
	}
	if a2 := string(p.answer(o, "127.0.0.1", 30000)); a2 != a1 {
		t.Errorf("an unchanged answer changed version:\n%s", a2)
	}
	p.dir = "recvonly"
	if a3 := string(p.answer(o, "127.0.0.1", 30000)); !strings.Contains(a3, "o=fargo-echo 7 2 ") {
		t.Errorf("a changed answer kept its version:\n%s", a3)
	}
	if a := string(p.answer(&origin{}, "::1", 30000)); !strings.Contains(a, "c=IN IP6 ::1\r\n") {
		t.Errorf("IPv6 answer:\n%s", a)
	}
}

func TestRewriterWraps(t *testing.T) {
	w := &rewriter{ssrc: 5, lastSeq: 65534, lastTS: 0xfffffff0}
	p := pkt{seq: 10, ts: 100, ssrc: 1}.bytes()
	w.rewrite(p, 8000, time.Time{})
	if r := parsePkt(p); r.seq != 65535 || r.ts != 0xfffffff1 || r.ssrc != 5 {
		t.Fatalf("first: %+v", r)
	}
	p = pkt{seq: 11, ts: 260, ssrc: 1}.bytes()
	w.rewrite(p, 8000, time.Time{})
	if r := parsePkt(p); r.seq != 0 || r.ts != 145 { // 0xfffffff1 + 160, wrapped
		t.Fatalf("wrapped: %+v", r)
	}
}
