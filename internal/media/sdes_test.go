package media

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

var allSuites = []string{
	SuiteAES128SHA1_80, SuiteAES128SHA1_32, SuiteAES256SHA1_80,
	SuiteAES256SHA1_32, SuiteAEADAES128GCM, SuiteAEADAES256GCM,
}

// sdesPhone is a SIP phone speaking SDES-SRTP with pion contexts of its
// own: it encrypts with its key and decrypts with the relay's.
type sdesPhone struct {
	*phone
	enc, dec *srtp.Context
}

func newSDESPhone(t testing.TB, p *phone, own, relay SDESKey) *sdesPhone {
	t.Helper()
	return &sdesPhone{phone: p, enc: sdesContext(t, own), dec: sdesContext(t, relay)}
}

func sdesContext(t testing.TB, k SDESKey) *srtp.Context {
	t.Helper()
	parts, err := k.split()
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := srtp.CreateContext(parts.key, parts.salt, parts.profile)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func genKey(t testing.TB, suite string) SDESKey {
	t.Helper()
	k, err := GenerateSDESKey(suite)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p *sdesPhone) encRTP(t testing.TB, pkt []byte) []byte {
	t.Helper()
	out, err := p.enc.EncryptRTP(nil, pkt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *sdesPhone) encRTCP(t testing.TB, pkt []byte) []byte {
	t.Helper()
	out, err := p.enc.EncryptRTCP(nil, pkt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// expectRTP and expectRTCP wait for an SRTP/SRTCP packet from the relay
// and return it decrypted.
func (p *sdesPhone) expectRTP(t testing.TB) []byte {
	t.Helper()
	out, err := p.dec.DecryptRTP(nil, p.rtp.expect(), nil)
	if err != nil {
		t.Fatalf("phone cannot decrypt the relay's SRTP: %v", err)
	}
	return out
}

func (p *sdesPhone) expectRTCP(t testing.TB, e *endpoint) []byte {
	t.Helper()
	out, err := p.dec.DecryptRTCP(nil, e.expect(), nil)
	if err != nil {
		t.Fatalf("phone cannot decrypt the relay's SRTCP: %v", err)
	}
	return out
}

// An SRTP phone and a plain raw-UDP client talk through the relay, RTP and
// RTCP both ways (RTCP on port+1 and muxed on the RTP port), with every
// suite the relay supports.
func TestSDESRelaysBothWays(t *testing.T) {
	for _, suite := range allSuites {
		t.Run(suite, func(t *testing.T) {
			r, _ := newTestRelay(t, testConfig(28000, 28099))
			c := newRawCall(t, r)
			relayKey, phoneKey := genKey(t, suite), genKey(t, suite)
			if err := c.sip.SetSRTP(relayKey, phoneKey); err != nil {
				t.Fatal(err)
			}
			ph := newSDESPhone(t, c.ph, phoneKey, relayKey)

			for seq := uint16(1); seq <= 3; seq++ {
				plain := rtpPacket(0, seq == 1, seq, 0x5150)
				ph.rtp.send(c.sip.Local(), ph.encRTP(t, plain))
				if got := c.client.rtp.expect(); !bytes.Equal(got, plain) {
					t.Fatalf("SIP→XMPP RTP: got % x, want % x", got, plain)
				}

				plain = rtpPacket(0, false, seq, 0xc1)
				c.client.rtp.send(c.raw.Local(), plain)
				wire := c.ph.rtp.expect()
				if bytes.Equal(wire[12:], plain[12:]) || len(wire) <= len(plain) {
					t.Fatalf("XMPP→SIP RTP left the relay unencrypted: % x", wire)
				}
				got, err := ph.dec.DecryptRTP(nil, wire, nil)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("XMPP→SIP RTP: got % x (%v), want % x", got, err, plain)
				}
			}

			rr := rtcpRR(0x5150)
			ph.rtcp.send(rtcpAt(c.sip.Local()), ph.encRTCP(t, rr))
			if got := c.client.rtcp.expect(); !bytes.Equal(got, rr) {
				t.Fatalf("SIP→XMPP RTCP: got % x, want % x", got, rr)
			}
			ph.rtp.send(c.sip.Local(), ph.encRTCP(t, rr)) // muxed
			if got := c.client.rtcp.expect(); !bytes.Equal(got, rr) {
				t.Fatalf("SIP→XMPP muxed RTCP: got % x, want % x", got, rr)
			}
			rr = rtcpRR(0xc1)
			c.client.rtcp.send(rtcpAt(c.raw.Local()), rr)
			if got := ph.expectRTCP(t, ph.rtcp); !bytes.Equal(got, rr) {
				t.Fatalf("XMPP→SIP RTCP: got % x, want % x", got, rr)
			}

			// The relay counts a packet after sending it: the receiver may
			// see it first.
			waitFor(t, "9 packets counted", func() bool { return r.Stats().Packets == 9 })
			if st := r.Stats(); st.Dropped != 0 || st.Packets != 9 || st.Lost != 0 {
				t.Fatalf("stats %+v, want 9 packets, none dropped or lost", st)
			}
		})
	}
}

// Packets that do not authenticate (wrong key, plain RTP, replays) are
// dropped and counted, and do not move the leg's latch.
func TestSDESDropsWhatDoesNotAuthenticate(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	relayKey, phoneKey := genKey(t, SuiteAES128SHA1_80), genKey(t, SuiteAES128SHA1_80)
	if err := c.sip.SetSRTP(relayKey, phoneKey); err != nil {
		t.Fatal(err)
	}
	ph := newSDESPhone(t, c.ph, phoneKey, relayKey)
	intruder := newSDESPhone(t, newPhone(t), genKey(t, SuiteAES128SHA1_80), relayKey)

	good := ph.encRTP(t, rtpPacket(0, false, 10, 0x5150))
	bad := []struct {
		name string
		from *endpoint
		pkt  []byte
	}{
		{"wrong key", intruder.rtp, intruder.encRTP(t, rtpPacket(0, false, 11, 0x5150))},
		{"plain RTP", intruder.rtp, rtpPacket(0, false, 12, 0x5150)},
		{"wrong key RTCP", intruder.rtcp, intruder.encRTCP(t, rtcpRR(0x5150))},
		{"tampered", ph.rtp, func() []byte { p := ph.encRTP(t, rtpPacket(0, false, 13, 0x5150)); p[14] ^= 1; return p }()},
	}
	for i, b := range bad {
		to := c.sip.Local()
		if b.from == intruder.rtcp {
			to = rtcpAt(to)
		}
		b.from.send(to, b.pkt)
		waitFor(t, b.name+" counted", func() bool { return r.Stats().Dropped == uint64(i+1) })
	}
	c.client.rtp.expectNothing(50 * time.Millisecond)
	c.client.rtcp.expectNothing(10 * time.Millisecond)

	ph.rtp.send(c.sip.Local(), good)
	c.client.rtp.expect()
	ph.rtp.send(c.sip.Local(), good) // replayed
	waitFor(t, "replay counted", func() bool { return r.Stats().Dropped == uint64(len(bad)+1) })
	c.client.rtp.expectNothing(50 * time.Millisecond)

	// Media toward SIP still goes to the phone, not to the intruder.
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 1, 0xc1))
	ph.expectRTP(t)
	intruder.rtp.expectNothing(20 * time.Millisecond)
}

// A re-INVITE with a new key for the phone keeps our sending state (the
// phone's decryption goes on), the phone's old key stops working; two zero
// keys turn SRTP off.
func TestSDESRekeyAndOff(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	relayKey, oldKey, newKey := genKey(t, SuiteAEADAES128GCM), genKey(t, SuiteAEADAES128GCM), genKey(t, SuiteAEADAES128GCM)
	if err := c.sip.SetSRTP(relayKey, oldKey); err != nil {
		t.Fatal(err)
	}
	before := newSDESPhone(t, c.ph, oldKey, relayKey)
	before.rtp.send(c.sip.Local(), before.encRTP(t, rtpPacket(0, false, 1, 0x5150)))
	c.client.rtp.expect()
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 1, 0xc1))
	before.expectRTP(t)
	tx := c.sip.sdes.Load().tx

	if err := c.sip.SetSRTP(relayKey, newKey); err != nil {
		t.Fatal(err)
	}
	if c.sip.sdes.Load().tx != tx {
		t.Fatal("our unchanged key lost its SRTP state")
	}
	after := &sdesPhone{phone: c.ph, enc: sdesContext(t, newKey), dec: before.dec}
	before.rtp.send(c.sip.Local(), before.encRTP(t, rtpPacket(0, false, 2, 0x5150)))
	waitFor(t, "old key dropped", func() bool { return r.Stats().Dropped == 1 })
	after.rtp.send(c.sip.Local(), after.encRTP(t, rtpPacket(0, false, 3, 0x5150)))
	if got := c.client.rtp.expect(); !bytes.Equal(got, rtpPacket(0, false, 3, 0x5150)) {
		t.Fatalf("new key: got % x", got)
	}
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 2, 0xc1))
	if got := after.expectRTP(t); !bytes.Equal(got, rtpPacket(0, false, 2, 0xc1)) {
		t.Fatalf("after rekey: got % x", got)
	}

	if err := c.sip.SetSRTP(SDESKey{}, SDESKey{}); err != nil {
		t.Fatal(err)
	}
	plain := rtpPacket(0, false, 4, 0x5150)
	c.ph.rtp.send(c.sip.Local(), plain)
	if got := c.client.rtp.expect(); !bytes.Equal(got, plain) {
		t.Fatalf("plain again: got % x", got)
	}
	c.client.rtp.send(c.raw.Local(), rtpPacket(0, false, 3, 0xc1))
	if got := c.ph.rtp.expect(); !bytes.Equal(got, rtpPacket(0, false, 3, 0xc1)) {
		t.Fatalf("plain again toward SIP: got % x", got)
	}
}

func TestSDESKeys(t *testing.T) {
	wantLen := map[string]int{
		SuiteAES128SHA1_80: 30, SuiteAES128SHA1_32: 30, SuiteAES256SHA1_80: 46,
		SuiteAES256SHA1_32: 46, SuiteAEADAES128GCM: 28, SuiteAEADAES256GCM: 44,
	}
	for _, suite := range allSuites {
		a, b := genKey(t, suite), genKey(t, suite)
		if len(a.Key) != wantLen[suite] || a.Suite != suite || bytes.Equal(a.Key, b.Key) {
			t.Errorf("%s: keys %x and %x", suite, a.Key, b.Key)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", suite, err)
		}
	}
	if err := (SDESKey{Suite: "aes_cm_128_hmac_sha1_80", Key: make([]byte, 30)}).Validate(); err != nil {
		t.Errorf("lower-case suite: %v", err)
	}
	if _, err := GenerateSDESKey("F8_128_HMAC_SHA1_80"); !errors.Is(err, ErrBadInput) {
		t.Errorf("unsupported suite generated: %v", err)
	}

	r, _ := newTestRelay(t, testConfig(28000, 28099))
	leg := newTestSession(t, r).SIP()
	good := genKey(t, SuiteAES128SHA1_80)
	for name, k := range map[string][2]SDESKey{
		"unknown suite": {good, {Suite: "F8_128_HMAC_SHA1_80", Key: make([]byte, 30)}},
		"short key":     {good, {Suite: SuiteAES128SHA1_80, Key: make([]byte, 29)}},
		"no local key":  {{}, good},
		"no remote key": {good, {}},
	} {
		if err := leg.SetSRTP(k[0], k[1]); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: SetSRTP = %v, want ErrBadInput", name, err)
		}
	}
	if leg.sdes.Load() != nil {
		t.Error("a refused key keyed the leg")
	}
}

// Decrypting and encrypting on the relay's path allocates nothing per
// packet, in the leg's own code and in pion's (whose AES-CM keystream
// buffer comes from a sync.Pool: a GC emptying it costs one allocation,
// which AllocsPerRun's integer average absorbs).
func TestSDESDoesNotAllocatePerPacket(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items)")
	}
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	c := newRawCall(t, r)
	for _, suite := range []string{SuiteAES128SHA1_80, SuiteAEADAES128GCM} {
		relayKey, phoneKey := genKey(t, suite), genKey(t, suite)
		if err := c.sip.SetSRTP(relayKey, phoneKey); err != nil {
			t.Fatal(err)
		}
		st := c.sip.sdes.Load()
		ph := newSDESPhone(t, c.ph, phoneKey, relayKey)
		const runs = 200
		in := make([][]byte, 0, runs+1)
		for i := range runs + 1 {
			pkt := append(make([]byte, 0, readBuf), ph.encRTP(t, g711Packet(0, uint16(i), 7))...)
			if i%2 == 1 {
				pkt = append(pkt[:0], ph.encRTCP(t, rtcpRR(7))...)
			}
			in = append(in, pkt)
		}
		i := 0
		if n := testing.AllocsPerRun(runs, func() {
			if _, ok := st.rx.decrypt(compRTP, in[i], i%2 == 1); !ok {
				t.Fatalf("%s: packet %d did not decrypt", suite, i)
			}
			i++
		}); n != 0 {
			t.Errorf("%s: decrypt allocates %.1f per packet", suite, n)
		}

		sink := newEndpoint(t)
		out, rr := g711Packet(0, 0, 9), rtcpRR(9)
		seq := uint16(0)
		if n := testing.AllocsPerRun(runs, func() {
			seq++
			setSeq(out, seq)
			if !st.tx.send(c.sip.socks[compRTP], out, false, sink.addr()) || !st.tx.send(c.sip.socks[compRTP], rr, true, sink.addr()) {
				t.Fatalf("%s: send failed", suite)
			}
		}); n != 0 {
			t.Errorf("%s: encrypt and send allocate %.1f per packet pair", suite, n)
		}
	}
}
