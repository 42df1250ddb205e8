package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBencodeRoundTrip(t *testing.T) {
	in := map[string]any{
		"command":  "offer",
		"call-id":  "relay-bench-1",
		"sdp":      "v=0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"flags":    []any{"a", int64(7)},
		"replace":  []string{"origin"},
		"count":    3,
		"empty":    "",
		"nested":   map[string]any{"z": int64(-1)},
		"bytes:ok": []byte("x"),
	}
	b, err := bencode(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	// Keys are sorted on the wire.
	if want := "d8:bytes:ok1:x7:call-id13:relay-bench-17:command5:offer5:counti3e5:empty0:5:flagsl1:ai7ee6:nestedd1:zi-1ee7:replacel6:origine3:sdp29:v=0\r\nm=audio 4000 RTP/AVP 0\r\ne"; string(b) != want {
		t.Errorf("encoded\n%q, want\n%q", b, want)
	}
	out, err := bdecode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"command": "offer", "call-id": "relay-bench-1", "sdp": "v=0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"flags": []any{"a", int64(7)}, "replace": []any{"origin"}, "count": int64(3), "empty": "",
		"nested": map[string]any{"z": int64(-1)}, "bytes:ok": "x",
	}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
}

func TestBdecodeRejects(t *testing.T) {
	for _, in := range []string{"", "i12", "5:abc", "l", "d3:keye", "di1ei2ee", "x", "i1ei2e", "-1:", "99999999999999999999:"} {
		if v, err := bdecode([]byte(in)); err == nil {
			t.Errorf("bdecode(%q) = %v, want an error", in, v)
		}
	}
}

// An rtpengine reply to an offer, as 10.5 writes it.
const rtpengineOfferReply = "v=0\r\n" +
	"o=- 3 1 IN IP4 127.0.0.1\r\n" +
	"s=relay-bench\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"m=audio 16042 RTP/AVP 0\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=sendrecv\r\n" +
	"a=rtcp:16043\r\n" +
	"a=ptime:20\r\n"

func TestAudioAddr(t *testing.T) {
	for _, c := range []struct {
		name, sdp string
		want      string
	}{
		{"rtpengine reply", rtpengineOfferReply, "127.0.0.1:16042"},
		{"own offer", offerSDP(1, netip.MustParseAddrPort("127.0.0.1:40000")), "127.0.0.1:40000"},
		{"media-level c= wins", "v=0\nc=IN IP4 10.0.0.1\nm=video 5000 RTP/AVP 96\nc=IN IP4 10.0.0.3\nm=audio 6000 RTP/AVP 0\nc=IN IP4 10.0.0.2\n", "10.0.0.2:6000"},
	} {
		got, err := audioAddr(c.sdp)
		if err != nil || got.String() != c.want {
			t.Errorf("%s: %v, %v; want %s", c.name, got, err, c.want)
		}
	}
	for _, bad := range []string{"v=0\nc=IN IP4 127.0.0.1\n", "v=0\nm=audio 7000 RTP/AVP 0\n", "m=audio x RTP/AVP 0\nc=IN IP4 1.2.3.4\n"} {
		if got, err := audioAddr(bad); err == nil {
			t.Errorf("audioAddr(%q) = %v, want an error", bad, got)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(int64(i) * int64(time.Microsecond))
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := got - c.want; d > c.want/50 || -d > c.want/50 {
			t.Errorf("q%.2f = %v, want %v within 2 %%", c.q, got, c.want)
		}
	}
	if h.max != int64(time.Millisecond) || h.n != 1000 {
		t.Errorf("max %d, n %d", h.max, h.n)
	}
	for v := uint64(0); v < 1<<20; v = v*2 + 1 {
		if i := histIndex(v); histLow(i) > v || (i+1 < histBuckets && histLow(i+1) <= v) {
			t.Errorf("%d lands in bucket %d [%d, %d)", v, i, histLow(i), histLow(i+1))
		}
	}
}

func TestRTPSequence(t *testing.T) {
	a, err := newEndpoint(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, err := newEndpoint(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	var pkt [pktSize]byte
	send := func(seq uint16) []byte {
		a.tx.seq = seq - 1
		a.send(pkt[:], 100, true)
		return append([]byte(nil), pkt[:]...)
	}
	// In order, a gap, a late arrival filling it, a duplicate, a stranger.
	p1, p2, p4, p3 := send(65535), send(0), send(2), send(1)
	for _, p := range [][]byte{p1, p2, p4, p3, p3} {
		b.receive(p, 150, 0, 1000)
	}
	stranger := append([]byte(nil), p1...)
	stranger[11] = 9
	b.receive(stranger, 150, 0, 1000)
	if r := b.rx; r.rxWin != 4 || r.late != 1 || r.dups != 1 || r.foreign != 1 {
		t.Errorf("rx %+v: want 4 in the window, 1 late, 1 duplicate, 1 foreign", r)
	}
	if lat, ok := b.receive(send(3), 170, 0, 1000); !ok || lat != 70 {
		t.Errorf("latency %d %v, want 70", lat, ok)
	}
	if _, ok := b.receive(send(4), 170, 200, 1000); ok {
		t.Error("a packet sent before the window counted")
	}
}
