package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkRelaySRTP is BenchmarkRelayRTP with the SIP leg keyed with
// SDES-SRTP: one packet at a time from one endpoint through the relay to
// the other, the SRTP phone encrypting (sip-to-xmpp) or decrypting
// (xmpp-to-sip) with reused buffers. allocs/op counts the whole process.
func BenchmarkRelaySRTP(b *testing.B) {
	for _, suite := range []string{SuiteAES128SHA1_80, SuiteAEADAES128GCM} {
		b.Run(suite+"/sip-to-xmpp", func(b *testing.B) { benchSRTP(b, suite, true) })
		b.Run(suite+"/xmpp-to-sip", func(b *testing.B) { benchSRTP(b, suite, false) })
	}
}

func benchSRTP(b *testing.B, suite string, fromSIP bool) {
	r, _ := newTestRelay(b, testConfig(28000, 28099))
	s := newTestSession(b, r)
	raw, err := s.XMPPRaw()
	if err != nil {
		b.Fatal(err)
	}
	relayKey, phoneKey := genKey(b, suite), genKey(b, suite)
	if err := s.SIP().SetSRTP(relayKey, phoneKey); err != nil {
		b.Fatal(err)
	}
	ph, client := newEndpoint(b), newEndpoint(b)
	s.SIP().SetRemote(ph.addr(), netip0)
	raw.SetRemote(client.addr(), netip0)
	enc, dec := sdesContext(b, phoneKey), sdesContext(b, relayKey)
	from, to, dst := ph, client, s.SIP().Local()
	if !fromSIP {
		from, to, dst = client, ph, raw.Local()
	}
	pkt := g711Packet(0, 0, 1)
	wire := make([]byte, 0, 2048)
	buf := make([]byte, 2048)
	plain := make([]byte, 0, 2048)
	var encHdr, decHdr rtp.Header // reused, as the relay does: nil makes pion allocate one
	if err := to.conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	var cpu0 time.Duration
	seq := uint16(0)
	for b.Loop() {
		if seq == 0 {
			cpu0 = cpuTime(b)
		}
		seq++
		setSeq(pkt, seq)
		out := pkt
		if fromSIP {
			if out, err = enc.EncryptRTP(wire[:0], pkt, &encHdr); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := from.conn.WriteToUDPAddrPort(out, dst); err != nil {
			b.Fatal(err)
		}
		n, _, err := to.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			b.Fatal(err)
		}
		got := buf[:n]
		if !fromSIP {
			if got, err = dec.DecryptRTP(plain[:0], got, &decHdr); err != nil {
				b.Fatal(err)
			}
		}
		if len(got) != len(pkt) {
			b.Fatalf("got %d bytes, want %d", len(got), len(pkt))
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/pkt")
	if st := settledStats(r, uint64(b.N)); st.Packets != uint64(b.N) || st.Dropped != 0 {
		b.Fatalf("stats %+v after %d packets", st, b.N)
	}
}
