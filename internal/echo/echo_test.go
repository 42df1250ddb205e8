package echo

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/sip"
)

func TestEchoRewritesHeaderAndReturnsToSource(t *testing.T) {
	svc, _ := startEcho(t, 24600, Config{})
	c := startCaller(t, 24601, svc.Addr())
	sock := rtpSock(t)
	call, ev := c.invite(t, "echo", offerSDP(sockPort(sock), 1, "RTP/AVP", "0 101",
		"rtpmap:0 PCMU/8000", "rtpmap:101 telephone-event/8000", "fmtp:101 0-16"))
	ans := ev.await(t, sip.EventAnswered, 5*time.Second)
	if !bytes.Contains(ans.Body, []byte("m=audio ")) || !bytes.Contains(ans.Body, []byte(" RTP/AVP 0 101\r\n")) ||
		!bytes.Contains(ans.Body, []byte("a=fmtp:101 0-16")) || !bytes.Contains(ans.Body, []byte("a=sendrecv")) {
		t.Fatalf("answer:\n%s", ans.Body)
	}
	port := answerPort(t, ans.Body)
	if port%2 != 0 {
		t.Errorf("RTP port %d is odd", port)
	}
	echoRTP := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))

	const inSSRC = 0x11111111
	sent := []pkt{
		{pt: 0, marker: true, seq: 1000, ts: 8000, ssrc: inSSRC, payload: []byte("audio-1")},
		{pt: 0, seq: 1001, ts: 8160, ssrc: inSSRC, payload: []byte("audio-2")},
		{pt: 101, marker: true, seq: 1002, ts: 8320, ssrc: inSSRC, payload: []byte{5, 10, 0, 160}}, // RFC 4733 digit 5
		{pt: 101, seq: 1003, ts: 8320, ssrc: inSSRC, payload: []byte{5, 10, 1, 64}},
		{pt: 0, seq: 1004, ts: 8640, ssrc: inSSRC, payload: []byte("audio-3")},
	}
	var got []pkt
	for _, p := range sent {
		send(t, sock, port, p)
		r, from, ok := recv(t, sock, 2*time.Second)
		if !ok {
			t.Fatalf("packet seq %d not echoed", p.seq)
		}
		if from != echoRTP {
			t.Errorf("echo came from %v, want its RTP port %v", from, echoRTP)
		}
		got = append(got, r)
	}
	for i, r := range got {
		p := sent[i]
		if r.pt != p.pt || r.marker != p.marker || !bytes.Equal(r.payload, p.payload) {
			t.Errorf("packet %d: got pt %d marker %v payload %x, want %d %v %x", i, r.pt, r.marker, r.payload, p.pt, p.marker, p.payload)
		}
		if r.ssrc == inSSRC || r.ssrc != got[0].ssrc {
			t.Errorf("packet %d: SSRC %#x, want the echo's own, constant (first %#x)", i, r.ssrc, got[0].ssrc)
		}
		if i > 0 && (r.seq != got[i-1].seq+1 || r.ts-got[i-1].ts != p.ts-sent[i-1].ts) {
			t.Errorf("packet %d: seq %d ts %d after %d %d: numbering not carried over", i, r.seq, r.ts, got[i-1].seq, got[i-1].ts)
		}
	}

	// Symmetric RTP: a packet from another address goes back there, and
	// the new source's numbering continues ours.
	other := rtpSock(t)
	send(t, other, port, pkt{pt: 0, seq: 7, ts: 99, ssrc: 0x2222, payload: []byte("other")})
	r, _, ok := recv(t, other, 2*time.Second)
	if !ok || string(r.payload) != "other" {
		t.Fatalf("no echo to the second source: %+v", r)
	}
	if r.ssrc != got[0].ssrc || r.seq != got[len(got)-1].seq+1 || int32(r.ts-got[len(got)-1].ts) <= 0 {
		t.Errorf("after a source change: seq %d ts %d ssrc %#x; last was %d %d", r.seq, r.ts, r.ssrc, got[len(got)-1].seq, got[len(got)-1].ts)
	}
	if _, _, ok := recv(t, sock, 200*time.Millisecond); ok {
		t.Error("the first source got the second's echo")
	}

	if err := call.Hangup(ctxT(t, 5*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, svc)
	st := svc.Stats()
	if st.Answered != 1 || st.Echoed != uint64(len(sent)+1) || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
	// The call's sockets are closed: its ports can be bound again.
	for _, p := range []int{port, port + 1} {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			t.Fatalf("port %d still held after BYE: %v", p, err)
		}
		c.Close()
	}
}

func TestRefusals(t *testing.T) {
	svc, _ := startEcho(t, 24610, Config{})
	c := startCaller(t, 24611, svc.Addr())
	sock := rtpSock(t)
	cases := []struct {
		name, user, offer string
		status            int
		warning           string
	}{
		{"no usable codec", "echo", offerSDP(sockPort(sock), 1, "RTP/AVP", "3 97", "rtpmap:97 iLBC/8000"), 488, "offered GSM/8000, iLBC/8000"},
		{"SRTP mandatory", "echo", offerSDP(sockPort(sock), 1, "RTP/SAVP", "0",
			"crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"), 488, "offered RTP/SAVP"},
		{"video only", "echo", strings.Replace(offerSDP(sockPort(sock), 1, "RTP/AVP", "96", "rtpmap:96 VP8/90000"), "m=audio", "m=video", 1), 488, "no audio"},
		{"other user", "bob", offerSDP(sockPort(sock), 1, "RTP/AVP", "0"), 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ev := c.invite(t, tc.user, tc.offer)
			e := ev.await(t, sip.EventFailed, 5*time.Second)
			if e.Status != tc.status || !strings.Contains(e.Warning, tc.warning) {
				t.Fatalf("got %d %s, Warning %q; want %d with %q", e.Status, e.Reason, e.Warning, tc.status, tc.warning)
			}
		})
	}
	waitIdle(t, svc)
	if st := svc.Stats(); st.Refused != 3 || st.Answered != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestHoldAndResume(t *testing.T) {
	svc, _ := startEcho(t, 24620, Config{})
	c := startCaller(t, 24621, svc.Addr())
	sock := rtpSock(t)
	sp := sockPort(sock)
	call, ev := c.invite(t, "echo", offerSDP(sp, 1, "RTP/AVP", "0 8"))
	port := answerPort(t, ev.await(t, sip.EventAnswered, 5*time.Second).Body)
	echoes := func() bool {
		send(t, sock, port, pkt{pt: 0, seq: 1, ts: 1, ssrc: 9, payload: []byte("x")})
		_, _, ok := recv(t, sock, 300*time.Millisecond)
		return ok
	}
	if !echoes() {
		t.Fatal("no echo before hold")
	}
	steps := []struct {
		offer, want, wantM string
		echo               bool
	}{
		{offerSDP(sp, 2, "RTP/AVP", "0 8", "sendonly"), "a=recvonly", " RTP/AVP 0\r\n", false},
		{offerSDP(sp, 3, "RTP/AVP", "0 8", "inactive"), "a=inactive", " RTP/AVP 0\r\n", false},
		{offerSDP(sp, 4, "RTP/AVP", "8 0"), "a=sendrecv", " RTP/AVP 8\r\n", true}, // resumed, switching to PCMA
	}
	for i, s := range steps {
		ans, err := call.Reinvite(ctxT(t, 5*time.Second), []byte(s.offer))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !bytes.Contains(ans, []byte(s.want)) || !bytes.Contains(ans, []byte(s.wantM)) || answerPort(t, ans) != port {
			t.Fatalf("step %d: answer lacks %q/%q or changed port:\n%s", i, s.want, s.wantM, ans)
		}
		if got := echoes(); got != s.echo {
			t.Fatalf("step %d: echoing %v, want %v", i, got, s.echo)
		}
	}
	// An unusable re-offer is refused and the call goes on.
	if _, err := call.Reinvite(ctxT(t, 5*time.Second), []byte(offerSDP(sp, 5, "RTP/AVP", "3"))); err == nil || !strings.Contains(err.Error(), "488") {
		t.Fatalf("re-offer of GSM only: %v, want 488", err)
	}
	if !echoes() {
		t.Fatal("no echo after a refused re-offer")
	}
}

func TestMaxCallDuration(t *testing.T) {
	svc, _ := startEcho(t, 24630, Config{MaxCall: 700 * time.Millisecond})
	c := startCaller(t, 24631, svc.Addr())
	sock := rtpSock(t)
	_, ev := c.invite(t, "echo", offerSDP(sockPort(sock), 1, "RTP/AVP", "0"))
	ev.await(t, sip.EventAnswered, 5*time.Second)
	start := time.Now()
	e := ev.await(t, sip.EventBye, 5*time.Second)
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("BYE after %v, before the maximum", d)
	}
	if !strings.Contains(e.ReasonHeader, "maximum call duration") {
		t.Errorf("BYE Reason %q", e.ReasonHeader)
	}
	waitIdle(t, svc)
}

func TestStopHangsUpCalls(t *testing.T) {
	svc, stop := startEcho(t, 24640, Config{})
	c := startCaller(t, 24641, svc.Addr())
	sock := rtpSock(t)
	call, ev := c.invite(t, "echo", offerSDP(sockPort(sock), 1, "RTP/AVP", "111", "rtpmap:111 opus/48000/2", "fmtp:111 useinbandfec=1"))
	ans := ev.await(t, sip.EventAnswered, 5*time.Second)
	if !bytes.Contains(ans.Body, []byte("a=rtpmap:111 opus/48000/2")) {
		t.Fatalf("answer:\n%s", ans.Body)
	}
	stop()
	ev.await(t, sip.EventBye, 5*time.Second)
	select {
	case <-call.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("call not ended")
	}
	if st := svc.Stats(); st.Active != 0 {
		t.Errorf("stats after stop %+v", st)
	}
}
