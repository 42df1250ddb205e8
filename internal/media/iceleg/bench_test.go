package iceleg

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

// BenchmarkRelayPacket is one relayed packet's trip through the leg: a
// 172-byte G.711 packet goes in plain at WriteRTP on one leg (SRTP
// encryption, send on the selected pair) and comes out plain from
// ReadPacket on the other (pion's mux and agent buffers, RFC 7983 demux,
// SRTP decryption), over loopback. ns/op is the round's wall time
// (including the goroutine wake-ups between pion's reader and ours);
// cpu-ns/op is the process CPU time (user + system, every goroutine) per
// packet, which is what bounds how many calls a core relays.
func BenchmarkRelayPacket(b *testing.B) {
	a, c := connectPair(b)
	pkt := g711(0xa, 1)
	buf := make([]byte, 1500)
	// Warm up: pion's per-SSRC state, buffers.
	for seq := range uint16(100) {
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		if err := a.WriteRTP(pkt); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.ReadPacket(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	seq := uint16(100)
	for b.Loop() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		if err := a.WriteRTP(pkt); err != nil {
			b.Fatal(err)
		}
		n, isRTCP, err := c.ReadPacket(buf)
		if err != nil || isRTCP || n != len(pkt) {
			b.Fatalf("ReadPacket = %d, %v, %v", n, isRTCP, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if d := c.Dropped(); d != 0 {
		b.Errorf("%d packets dropped", d)
	}
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRawUDP is the floor BenchmarkRelayPacket stands on: the same
// 172 bytes sent and received on two plain loopback sockets, no ICE, no
// SRTP, no goroutine hand-over. The difference is the leg's cost.
func BenchmarkRawUDP(b *testing.B) {
	tx, rx := listen(b), listen(b)
	defer tx.Close()
	defer rx.Close()
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	pkt := g711(0xa, 1)
	buf := make([]byte, 1500)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := tx.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSRTPPath is the leg's own per-packet work without I/O: encrypt
// as WriteRTP does, then classify and decrypt in place as ReadPacket does,
// for each profile we offer. What BenchmarkRelayPacket adds on top is
// pion's socket reading and hand-over between goroutines, and the kernel.
func BenchmarkSRTPPath(b *testing.B) {
	for _, p := range []srtp.ProtectionProfile{
		srtp.ProtectionProfileAeadAes128Gcm,
		srtp.ProtectionProfileAeadAes256Gcm,
		srtp.ProtectionProfileAes128CmHmacSha1_80,
	} {
		b.Run(p.String(), func(b *testing.B) {
			keyLen, _ := p.KeyLen()
			saltLen, _ := p.SaltLen()
			key, salt := make([]byte, keyLen), make([]byte, saltLen)
			tx, err := srtp.CreateContext(key, salt, p)
			if err != nil {
				b.Fatal(err)
			}
			rx, err := srtp.CreateContext(key, salt, p, srtp.SRTPReplayProtection(replayWindow))
			if err != nil {
				b.Fatal(err)
			}
			l := &Leg{rx: rx, tx: tx, wbuf: make([]byte, 0, receiveMTU)}
			pkt := g711(0xa, 1)
			buf := make([]byte, 1500)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			seq := uint16(0)
			for b.Loop() {
				seq++
				pkt[2], pkt[3] = byte(seq>>8), byte(seq)
				out, err := l.tx.EncryptRTP(l.wbuf[:0], pkt, &l.wRTPHdr)
				if err != nil {
					b.Fatal(err)
				}
				if n, _, ok := l.decrypt(buf[:copy(buf, out)]); !ok || n != len(pkt) {
					b.Fatal("decrypt failed")
				}
			}
		})
	}
}
