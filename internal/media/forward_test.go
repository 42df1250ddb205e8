package media

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

var (
	sipCodecs = []Codec{
		{PT: 0, Name: "PCMU", Clock: 8000},
		{PT: 8, Name: "PCMA", Clock: 8000},
		{PT: 101, Name: "telephone-event", Clock: 8000},
	}
	xmppCodecs = []Codec{
		{PT: 111, Name: "opus", Clock: 48000, Channels: 2},
		{PT: 0, Name: "pcmu", Clock: 8000, Channels: 1},
		{PT: 126, Name: "Telephone-Event", Clock: 8000},
	}
)

// rawCall is a session with a SIP phone and a raw-UDP XMPP client, both
// announced to the relay.
type rawCall struct {
	s          *Session
	sip, raw   *RTPLeg
	ph, client *phone
}

func newRawCall(t *testing.T, r *Relay) *rawCall {
	t.Helper()
	s := newTestSession(t, r)
	raw, err := s.XMPPRaw()
	if err != nil {
		t.Fatal(err)
	}
	c := &rawCall{s: s, sip: s.SIP(), raw: raw, ph: newPhone(t), client: newPhone(t)}
	c.sip.SetRemote(c.ph.rtp.addr(), c.ph.rtcp.addr())
	c.raw.SetRemote(c.client.rtp.addr(), c.client.rtcp.addr())
	return c
}

func TestRelaySIPAndRawXMPPBothWays(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	c.s.SetCodecs(sipCodecs, xmppCodecs)

	if l := c.sip.Local(); l.Addr() != loopback || l.Port()%2 != 0 || l.Port() < 28000 || l.Port() > 28098 {
		t.Fatalf("SIP leg local %v: want an even port of the range on the announced address", l)
	}
	if c.raw.Local() == c.sip.Local() {
		t.Fatal("both legs on one port")
	}
	if again, err := c.s.XMPPRaw(); err != nil || again != c.raw {
		t.Fatalf("second XMPPRaw: %p %v, want the same leg", again, err)
	}

	cases := []struct {
		name           string
		from, to       *endpoint
		dst            func() *RTPLeg
		sentPT, wantPT uint8
		marker         bool
	}{
		{"sip PCMU", c.ph.rtp, c.client.rtp, func() *RTPLeg { return c.sip }, 0, 0, false},
		{"sip DTMF renumbered, marker kept", c.ph.rtp, c.client.rtp, func() *RTPLeg { return c.sip }, 101, 126, true},
		{"sip DTMF renumbered", c.ph.rtp, c.client.rtp, func() *RTPLeg { return c.sip }, 101, 126, false},
		{"sip PCMA unknown to XMPP passes", c.ph.rtp, c.client.rtp, func() *RTPLeg { return c.sip }, 8, 8, false},
		{"sip unlisted PT passes", c.ph.rtp, c.client.rtp, func() *RTPLeg { return c.sip }, 96, 96, true},
		{"xmpp DTMF renumbered, marker kept", c.client.rtp, c.ph.rtp, func() *RTPLeg { return c.raw }, 126, 101, true},
		{"xmpp DTMF renumbered", c.client.rtp, c.ph.rtp, func() *RTPLeg { return c.raw }, 126, 101, false},
		{"xmpp PCMU", c.client.rtp, c.ph.rtp, func() *RTPLeg { return c.raw }, 0, 0, false},
		{"xmpp opus unknown to SIP passes", c.client.rtp, c.ph.rtp, func() *RTPLeg { return c.raw }, 111, 111, true},
	}
	for i, tc := range cases {
		sent := rtpPacket(tc.sentPT, tc.marker, uint16(100+i), 0x1234)
		tc.from.send(tc.dst().Local(), sent)
		got := tc.to.expect()
		want := rtpPacket(tc.wantPT, tc.marker, uint16(100+i), 0x1234)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got % x, want % x", tc.name, got, want)
		}
	}

	// RTCP on port+1, relayed as is: its second byte is a packet type.
	rr := rtcpRR(0xabcdef01)
	c.ph.rtcp.send(rtcpAt(c.sip.Local()), rr)
	if got := c.client.rtcp.expect(); !bytes.Equal(got, rr) {
		t.Errorf("RTCP SIP→XMPP: got % x, want % x", got, rr)
	}
	c.client.rtcp.send(rtcpAt(c.raw.Local()), rr)
	if got := c.ph.rtcp.expect(); !bytes.Equal(got, rr) {
		t.Errorf("RTCP XMPP→SIP: got % x, want % x", got, rr)
	}

	// Nothing went to the wrong socket.
	for _, e := range []*endpoint{c.ph.rtp, c.ph.rtcp, c.client.rtp, c.client.rtcp} {
		e.expectNothing(20 * time.Millisecond)
	}
	st := r.Stats()
	if want := uint64(len(cases) + 2); st.Packets != want {
		t.Errorf("Packets = %d, want %d", st.Packets, want)
	}
	if want := uint64(len(cases)*16 + 2*8); st.Bytes != want {
		t.Errorf("Bytes = %d, want %d", st.Bytes, want)
	}
	if st.Dropped != 0 || st.Lost != 0 {
		t.Errorf("Dropped %d, Lost %d, want 0", st.Dropped, st.Lost)
	}
	if st.SessionsActive != 1 || st.SessionsTotal != 1 {
		t.Errorf("sessions: %+v", st)
	}
}

func TestSetCodecsAgainTakesEffect(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	c.s.SetCodecs(sipCodecs, xmppCodecs)
	c.ph.rtp.send(c.sip.Local(), rtpPacket(101, false, 1, 1))
	if got := c.client.rtp.expect(); got[1] != 126 {
		t.Fatalf("PT %d, want 126", got[1])
	}
	// A re-INVITE moved telephone-event to 100 on the SIP side.
	c.s.SetCodecs([]Codec{{PT: 100, Name: "telephone-event", Clock: 8000}}, xmppCodecs)
	c.ph.rtp.send(c.sip.Local(), rtpPacket(100, false, 2, 1))
	if got := c.client.rtp.expect(); got[1] != 126 {
		t.Fatalf("PT %d, want 126", got[1])
	}
	c.ph.rtp.send(c.sip.Local(), rtpPacket(101, false, 3, 1))
	if got := c.client.rtp.expect(); got[1] != 101 {
		t.Fatalf("old number: PT %d, want 101 unchanged", got[1])
	}
	c.client.rtp.send(c.raw.Local(), rtpPacket(126, true, 1, 2))
	if got := c.ph.rtp.expect(); got[1] != 0x80|100 {
		t.Fatalf("XMPP→SIP: byte 1 %#x, want marker|100", got[1])
	}
	c.s.SetCodecs(nil, nil)
	c.client.rtp.send(c.raw.Local(), rtpPacket(126, false, 2, 2))
	if got := c.ph.rtp.expect(); got[1] != 126 {
		t.Fatalf("no codecs: PT %d, want 126", got[1])
	}
}

// TestSetCodecsWhileRelaying lets the race detector watch the table swap.
func TestSetCodecsWhileRelaying(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	stop := make(chan struct{})
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				c.s.SetCodecs(sipCodecs, xmppCodecs)
			} else {
				c.s.SetCodecs(xmppCodecs, sipCodecs)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for i := range 200 {
		c.ph.rtp.send(c.sip.Local(), rtpPacket(101, false, uint16(i), 1))
		if got := c.client.rtp.expect(); got[1] != 101 && got[1] != 126 {
			t.Fatalf("PT %d", got[1])
		}
	}
	close(stop)
	<-swapped
}

func TestSymmetricRTPLatchesOntoTheRealSource(t *testing.T) {
	r, logs := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	// The SDP announced c.ph, but the phone is behind a NAT: its packets
	// come from another address.
	natted := newPhone(t)

	// Before the phone sent anything we send where the SDP said.
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 1, 7))
	c.ph.rtp.expect()

	natted.rtp.send(c.sip.Local(), rtpPacket(0, false, 1, 9))
	c.client.rtp.expect()
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 2, 7))
	natted.rtp.expect()
	c.ph.rtp.expectNothing(20 * time.Millisecond)

	// RTCP is latched on its own: still to the announced port + 1 …
	c.client.rtcp.send(rtcpAt(c.raw.Local()), rtcpRR(7))
	c.ph.rtcp.expect()
	// … until RTCP comes from elsewhere.
	natted.rtcp.send(rtcpAt(c.sip.Local()), rtcpRR(9))
	c.client.rtcp.expect()
	c.client.rtcp.send(rtcpAt(c.raw.Local()), rtcpRR(7))
	natted.rtcp.expect()
	c.ph.rtcp.expectNothing(20 * time.Millisecond)

	// The phone moves again (NAT rebinding): we follow, logging no more.
	moved := newEndpoint(t)
	moved.send(c.sip.Local(), rtpPacket(0, false, 2, 9))
	c.client.rtp.expect()
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 3, 7))
	moved.expect()

	// A later SetRemote (re-INVITE) is obeyed until media says otherwise.
	c.sip.SetRemote(c.ph.rtp.addr(), c.ph.rtcp.addr())
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 4, 7))
	c.ph.rtp.expect()

	if n := logs.Count("latched onto media source"); n != 2 {
		t.Errorf("%d latch log lines, want one per socket that latched (2):\n%s", n, logs)
	}
}

func TestLatchWithoutSetRemote(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	s := newTestSession(t, r)
	raw, err := s.XMPPRaw()
	if err != nil {
		t.Fatal(err)
	}
	ph, client := newEndpoint(t), newEndpoint(t)
	raw.SetRemote(client.addr(), netip0)
	ph.send(s.SIP().Local(), rtpPacket(0, false, 1, 1))
	client.expect()
	client.send(raw.Local(), rtpPacket(0, false, 1, 2))
	if got := ph.expect(); got[3] != 1 {
		t.Fatalf("got % x", got)
	}
}

func TestDropsBeforeTheRemoteIsKnown(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	s := newTestSession(t, r)
	ph, client := newPhone(t), newPhone(t)
	s.SIP().SetRemote(ph.rtp.addr(), netip0)

	// No XMPP leg yet.
	ph.rtp.send(s.SIP().Local(), rtpPacket(0, false, 1, 1))
	waitFor(t, "a drop", func() bool { return r.Stats().Dropped == 1 })

	// An XMPP leg whose remote is unknown.
	raw, err := s.XMPPRaw()
	if err != nil {
		t.Fatal(err)
	}
	ph.rtp.send(s.SIP().Local(), rtpPacket(0, false, 2, 1))
	ph.rtcp.send(rtcpAt(s.SIP().Local()), rtcpRR(1))
	waitFor(t, "two more drops", func() bool { return r.Stats().Dropped == 3 })
	client.rtp.expectNothing(20 * time.Millisecond)

	// Junk (a STUN binding request) is dropped and latches nothing.
	stun := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	stray := newEndpoint(t)
	stray.send(raw.Local(), stun)
	waitFor(t, "junk dropped", func() bool { return r.Stats().Dropped == 4 })

	raw.SetRemote(client.rtp.addr(), netip0) // RTCP to port+1
	ph.rtp.send(s.SIP().Local(), rtpPacket(0, false, 3, 1))
	client.rtp.expect()
	ph.rtcp.send(rtcpAt(s.SIP().Local()), rtcpRR(1))
	client.rtcp.expect()
	client.rtp.send(raw.Local(), rtpPacket(0, false, 1, 2))
	ph.rtp.expect()
	stray.expectNothing(20 * time.Millisecond)
	if st := r.Stats(); st.Packets != 3 || st.Dropped != 4 {
		t.Fatalf("Packets %d Dropped %d, want 3 and 4", st.Packets, st.Dropped)
	}
}

func TestLossCounting(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	send := func(from *endpoint, to *RTPLeg, recv *endpoint, ssrc uint32, seqs ...uint16) {
		t.Helper()
		for _, q := range seqs {
			from.send(to.Local(), rtpPacket(0, false, q, ssrc))
			recv.expect()
		}
	}
	send(c.ph.rtp, c.sip, c.client.rtp, 1, 10, 11, 13) // 12 missing
	if got := r.Stats().Lost; got != 1 {
		t.Fatalf("Lost = %d after a skipped sequence number, want 1", got)
	}
	send(c.client.rtp, c.raw, c.ph.rtp, 2, 65534, 65535, 1) // 0 missing, across the wrap
	if got := r.Stats().Lost; got != 2 {
		t.Fatalf("Lost = %d, want 2 (one per direction)", got)
	}
	send(c.ph.rtp, c.sip, c.client.rtp, 1, 13, 15, 14, 16) // duplicate, reorder
	if got := r.Stats().Lost; got != 2 {
		t.Fatalf("Lost = %d after a duplicate and a reordering, want 2", got)
	}
	send(c.ph.rtp, c.sip, c.client.rtp, 1, 12) // the late one
	if got := r.Stats().Lost; got != 1 {
		t.Fatalf("Lost = %d after the missing packet came late, want 1", got)
	}
	send(c.ph.rtp, c.sip, c.client.rtp, 1, 30000) // a jump: new stream, not loss
	send(c.ph.rtp, c.sip, c.client.rtp, 3, 7)     // new SSRC
	if got := r.Stats().Lost; got != 1 {
		t.Fatalf("Lost = %d after a jump and a new SSRC, want 1", got)
	}
}

func TestLossTracker(t *testing.T) {
	cases := []struct {
		seqs []uint16
		want int64
	}{
		{[]uint16{1, 2, 3}, 0},
		{[]uint16{1, 3}, 1},
		{[]uint16{1, 5}, 3},
		{[]uint16{1, 3, 2}, 0},
		{[]uint16{1, 3, 2, 2, 3}, 0},
		{[]uint16{1, 1, 1}, 0},
		{[]uint16{65535, 0, 2}, 1},
		{[]uint16{1, 3000}, 2998},
		{[]uint16{1, 3002}, 0},       // gap 3000: a restart
		{[]uint16{100, 50}, 0},       // older than the first packet
		{[]uint16{1, 200, 100}, 198}, // too late to take back
	}
	for _, tc := range cases {
		var l lossTracker
		var sum int64
		for _, q := range tc.seqs {
			sum += l.observe(rtpPacket(0, false, q, 5))
		}
		if sum != tc.want || l.lost != tc.want {
			t.Errorf("%v: lost %d (tracker %d), want %d", tc.seqs, sum, l.lost, tc.want)
		}
	}
}

func TestPTTable(t *testing.T) {
	if tb := newPTTable(sipCodecs, sipCodecs); tb != nil {
		t.Fatal("identical sides need no table")
	}
	tb := newPTTable(sipCodecs, xmppCodecs)
	for pt := range 128 {
		want := int16(-1)
		if pt == 101 {
			want = 126
		}
		if tb[pt] != want {
			t.Errorf("PT %d → %d, want %d", pt, tb[pt], want)
		}
	}
	// Clock and channels must match too.
	tb = newPTTable(
		[]Codec{{PT: 96, Name: "opus", Clock: 48000, Channels: 2}, {PT: 97, Name: "G722", Clock: 8000}},
		[]Codec{{PT: 111, Name: "opus", Clock: 48000, Channels: 1}, {PT: 98, Name: "G722", Clock: 16000}, {PT: 9, Name: "G722", Clock: 8000, Channels: 1}},
	)
	if tb[96] != -1 || tb[97] != 9 {
		t.Errorf("opus/2 → %d (want -1), G722/8000 → %d (want 9)", tb[96], tb[97])
	}
	pkt := rtpPacket(97, true, 1, 1)
	tb.rewrite(pkt)
	if pkt[1] != 0x80|9 {
		t.Errorf("rewritten byte 1 %#x", pkt[1])
	}
	var none *ptTable
	none.rewrite(pkt) // nil table: nothing to do
}

func TestClassify(t *testing.T) {
	cases := []struct {
		pkt  []byte
		want packetKind
	}{
		{rtpPacket(0, false, 1, 1), kindRTP},
		{rtpPacket(127, true, 1, 1), kindRTP},
		{rtcpRR(1), kindRTCP},
		{[]byte{0x80, 200, 0, 6}, kindRTCP},
		{rtpPacket(0, false, 1, 1)[:11], kindJunk},
		{[]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}, kindJunk},
		{[]byte{'\r', '\n', '\r', '\n'}, kindJunk},
		{nil, kindJunk},
	}
	for i, tc := range cases {
		if got := classify(tc.pkt); got != tc.want {
			t.Errorf("%d (% x): %d, want %d", i, tc.pkt, got, tc.want)
		}
	}
}

func TestMuxedRTCPOnTheRTPPort(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	c.s.SetCodecs(sipCodecs, xmppCodecs)
	rr := rtcpRR(3)
	c.ph.rtp.send(c.sip.Local(), rr)
	if got := c.client.rtcp.expect(); !bytes.Equal(got, rr) {
		t.Fatalf("got % x", got)
	}
	if st := r.Stats(); st.Lost != 0 {
		t.Fatal(fmt.Sprint("RTCP counted as RTP: ", st))
	}
}

// After the learning window a stranger's packets are dropped and do not
// move the call's media; a SetRemote (re-INVITE) opens the window again.
func TestLearningWindowGuardsTheLatch(t *testing.T) {
	cfg := testConfig(28000, 28099)
	cfg.LearnWindow = 150 * time.Millisecond
	r, logs := newTestRelay(t, cfg)
	c := newRawCall(t, r)

	c.ph.rtp.send(c.sip.Local(), rtpPacket(0, false, 1, 9)) // opens the window
	c.client.rtp.expect()
	time.Sleep(2 * cfg.LearnWindow)

	stranger := newEndpoint(t)
	stranger.send(c.sip.Local(), rtpPacket(0, false, 2, 66))
	c.client.rtp.expectNothing(50 * time.Millisecond)
	waitFor(t, "the stranger's packet counted as dropped", func() bool { return r.Stats().Dropped == 1 })
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 1, 7))
	c.ph.rtp.expect() // still to the phone
	stranger.expectNothing(20 * time.Millisecond)
	if n := logs.Count("unexpected source dropped"); n != 1 {
		t.Errorf("%d log lines about the stranger, want 1:\n%s", n, logs)
	}

	// The phone is moved by signalling: the window opens again.
	c.sip.SetRemote(stranger.addr(), netip0)
	stranger.send(c.sip.Local(), rtpPacket(0, false, 3, 66))
	c.client.rtp.expect()
	moved := newEndpoint(t)
	moved.send(c.sip.Local(), rtpPacket(0, false, 4, 66)) // within the new window
	c.client.rtp.expect()
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 2, 7))
	moved.expect()
}
