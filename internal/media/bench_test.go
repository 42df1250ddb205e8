package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// g711Packet is a 20 ms G.711 packet: 12 bytes of header, 160 of payload.
func g711Packet(pt uint8, seq uint16, ssrc uint32) []byte {
	p := make([]byte, 172)
	copy(p, rtpPacket(pt, false, seq, ssrc))
	return p
}

func setSeq(pkt []byte, seq uint16) { pkt[2], pkt[3] = byte(seq>>8), byte(seq) }

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRelayRTP measures one packet from the sending endpoint through
// the relay (SIP leg in, raw XMPP leg out, PT renumbered) to the receiving
// endpoint, one at a time: ns/op is the latency, allocs/op counts the whole
// process (endpoints included), cpu-ns/pkt the CPU of the whole process.
func BenchmarkRelayRTP(b *testing.B) {
	r, _ := newTestRelay(b, testConfig(28000, 28099))
	s := newTestSession(b, r)
	raw, err := s.XMPPRaw()
	if err != nil {
		b.Fatal(err)
	}
	s.SetCodecs(sipCodecs, xmppCodecs)
	ph, client := newEndpoint(b), newEndpoint(b)
	s.SIP().SetRemote(ph.addr(), netip0)
	raw.SetRemote(client.addr(), netip0)
	dst := s.SIP().Local()
	pkt := g711Packet(101, 0, 1)
	buf := make([]byte, 2048)
	if err := client.conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
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
		if _, err := ph.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
		n, _, err := client.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			b.Fatal(err)
		}
		if n != len(pkt) || buf[1] != 126 {
			b.Fatalf("got %d bytes, PT %d", n, buf[1])
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/pkt")
	if st := settledStats(r, uint64(b.N)); st.Packets != uint64(b.N) || st.Lost != 0 {
		b.Fatalf("stats %+v after %d packets", st, b.N)
	}
}

// BenchmarkRelayConcurrent spreads b.N packets over 200 relayed sessions,
// both directions, each session's endpoints sending one packet and waiting
// for it at the other end (200 packets in flight). cpu-ns/pkt is the
// process's CPU (rusage) per packet, endpoints included; the "direct"
// variant runs the same endpoints without the relay, so the difference is
// what relaying costs. loss-% counts packets that did not arrive within a
// second.
func BenchmarkRelayConcurrent(b *testing.B) {
	const sessions = 200
	b.Run("relay", func(b *testing.B) { benchConcurrent(b, sessions, true) })
	b.Run("direct", func(b *testing.B) { benchConcurrent(b, sessions, false) })
}

func benchConcurrent(b *testing.B, sessions int, relayed bool) {
	type pair struct {
		sipEnd, xmppEnd *endpoint
		toSIPLeg        netip.AddrPort // where the SIP endpoint sends
		toXMPPLeg       netip.AddrPort // where the XMPP endpoint sends
	}
	var r *Relay
	if relayed {
		cfg := testConfig(28000, 28899)
		cfg.MaxSessions = sessions
		r, _ = newTestRelay(b, cfg)
	}
	pairs := make([]pair, sessions)
	for i := range pairs {
		p := pair{sipEnd: newEndpoint(b), xmppEnd: newEndpoint(b)}
		if relayed {
			s := newTestSession(b, r)
			raw, err := s.XMPPRaw()
			if err != nil {
				b.Fatal(err)
			}
			s.SetCodecs(sipCodecs, xmppCodecs)
			s.SIP().SetRemote(p.sipEnd.addr(), netip0)
			raw.SetRemote(p.xmppEnd.addr(), netip0)
			p.toSIPLeg, p.toXMPPLeg = s.SIP().Local(), raw.Local()
		} else {
			p.toSIPLeg, p.toXMPPLeg = p.xmppEnd.addr(), p.sipEnd.addr()
		}
		pairs[i] = p
	}

	var next, lost atomic.Int64
	n := int64(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var wg sync.WaitGroup
	for i := range pairs {
		p := pairs[i]
		wg.Go(func() {
			out := g711Packet(0, 0, uint32(i))
			buf := make([]byte, 2048)
			seq := uint16(0)
			for next.Add(1) <= n {
				seq++
				setSeq(out, seq)
				from, to, dst := p.sipEnd, p.xmppEnd, p.toSIPLeg
				if seq%2 == 0 {
					from, to, dst = p.xmppEnd, p.sipEnd, p.toXMPPLeg
				}
				if _, err := from.conn.WriteToUDPAddrPort(out, dst); err != nil {
					b.Error(err)
					return
				}
				_ = to.conn.SetReadDeadline(time.Now().Add(time.Second))
				if _, _, err := to.conn.ReadFromUDPAddrPort(buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						lost.Add(1)
						continue
					}
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/pkt")
	b.ReportMetric(100*float64(lost.Load())/float64(b.N), "loss-%")
}

// BenchmarkRelayPaced offers the target load: 200 sessions at 250 packets
// per second each way, i.e. 100,000 packets/s relayed, as 1,000 calls at
// 50 packets/s each way would. One op is one 4 ms tick in which every
// session gets one packet in each direction (sent in a burst, harsher than
// real phones). cpu-ns/pkt and cores are the whole process's (endpoints
// included; the "direct" variant, endpoints talking straight to each
// other, is the part that is not the relay's); loss-% counts packets that
// never arrived.
func BenchmarkRelayPaced(b *testing.B) {
	b.Run("relay", func(b *testing.B) { benchPaced(b, true) })
	b.Run("direct", func(b *testing.B) { benchPaced(b, false) })
}

func benchPaced(b *testing.B, relayed bool) {
	const sessions = 200
	const tick = 4 * time.Millisecond
	type pair struct {
		sipEnd, xmppEnd     *endpoint
		toSIPLeg, toXMPPLeg netip.AddrPort
	}
	var r *Relay
	if relayed {
		cfg := testConfig(28000, 28899)
		cfg.MaxSessions = sessions
		r, _ = newTestRelay(b, cfg)
	}
	pairs := make([]pair, sessions)
	var received atomic.Int64
	var readers sync.WaitGroup
	for i := range pairs {
		p := pair{sipEnd: newEndpoint(b), xmppEnd: newEndpoint(b)}
		if relayed {
			s := newTestSession(b, r)
			raw, err := s.XMPPRaw()
			if err != nil {
				b.Fatal(err)
			}
			s.SIP().SetRemote(p.sipEnd.addr(), netip0)
			raw.SetRemote(p.xmppEnd.addr(), netip0)
			p.toSIPLeg, p.toXMPPLeg = s.SIP().Local(), raw.Local()
		} else {
			p.toSIPLeg, p.toXMPPLeg = p.xmppEnd.addr(), p.sipEnd.addr()
		}
		pairs[i] = p
		for _, e := range []*endpoint{p.sipEnd, p.xmppEnd} {
			readers.Go(func() {
				buf := make([]byte, 2048)
				for {
					if _, _, err := e.conn.ReadFromUDPAddrPort(buf); err != nil {
						return // closed below
					}
					received.Add(1)
				}
			})
		}
	}

	pkt := g711Packet(0, 0, 1)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var sent int64
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime(b)
	for seq := uint16(1); b.Loop(); seq++ {
		<-ticker.C
		setSeq(pkt, seq)
		for _, p := range pairs {
			if _, err := p.sipEnd.conn.WriteToUDPAddrPort(pkt, p.toSIPLeg); err != nil {
				b.Fatal(err)
			}
			if _, err := p.xmppEnd.conn.WriteToUDPAddrPort(pkt, p.toXMPPLeg); err != nil {
				b.Fatal(err)
			}
			sent += 2
		}
	}
	// Let the last burst arrive.
	for deadline := time.Now().Add(time.Second); received.Load() < sent && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cpu, elapsed := cpuTime(b)-cpu0, time.Since(start)
	b.StopTimer()
	for _, p := range pairs {
		_ = p.sipEnd.conn.Close()
		_ = p.xmppEnd.conn.Close()
	}
	readers.Wait()
	b.ReportMetric(float64(cpu)/float64(sent), "cpu-ns/pkt")
	b.ReportMetric(float64(cpu)/float64(elapsed), "cores")
	b.ReportMetric(100*float64(sent-received.Load())/float64(sent), "loss-%")
}

// settledStats reads the relay's counters once it has counted packets (or
// after a second): the relay counts a packet after its send returns, which
// can be after the benchmark's receiver already has it.
func settledStats(r *Relay, packets uint64) Stats {
	st := r.Stats()
	for deadline := time.Now().Add(time.Second); st.Packets < packets && time.Now().Before(deadline); st = r.Stats() {
		time.Sleep(time.Millisecond)
	}
	return st
}
