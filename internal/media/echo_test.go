package media

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

const (
	callerAudio, callerVideo = 0x0a0a0a0a, 0x0b0b0b0b
	vp8                      = 96
)

// newEchoTestSession is an echo session whose caller sends PCMU audio and
// VP8 video (PT 96) under callerAudio and callerVideo, already seen.
func newEchoTestSession(t testing.TB) *Session {
	t.Helper()
	r, _ := newTestRelay(t, testConfig(28300, 28399))
	s, err := r.NewEchoSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.SetEchoVideo([]uint8{vp8})
	s.echoBack(sideXMPP, rtpPacket(0, false, 1, callerAudio), false)
	s.echoBack(sideXMPP, rtpPacket(vp8, true, 1, callerVideo), false)
	return s
}

// feedbackPacket is an RTCP feedback packet (RFC 4585 §6.1): header,
// sender SSRC, media source SSRC, then fci.
func feedbackPacket(pt, format uint8, sender, source uint32, fci ...byte) []byte {
	p := make([]byte, 12, 12+len(fci))
	p[0], p[1] = 0x80|format, pt
	binary.BigEndian.PutUint16(p[2:], uint16((12+len(fci))/4-1))
	binary.BigEndian.PutUint32(p[4:], sender)
	binary.BigEndian.PutUint32(p[8:], source)
	return append(p, fci...)
}

// withRoom copies pkt into a reader-sized buffer, as the legs hand it.
func withRoom(pkt []byte) []byte {
	buf := make([]byte, readBuf)
	return buf[:copy(buf, pkt)]
}

func u32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func TestEchoSSRCsAreDistinct(t *testing.T) {
	s := newEchoTestSession(t)
	a, v := s.EchoSSRC(), s.EchoVideoSSRC()
	if a == 0 || v == 0 || a == v {
		t.Fatalf("echo SSRCs audio %#x video %#x: want two distinct non-zero ones", a, v)
	}
	if s.echo.caller[echoAudio].Load() != callerAudio || s.echo.caller[echoVideo].Load() != callerVideo {
		t.Fatalf("caller SSRCs %#x %#x not learnt", s.echo.caller[echoAudio].Load(), s.echo.caller[echoVideo].Load())
	}
}

func TestEchoStreamByPayloadType(t *testing.T) {
	s := newEchoTestSession(t)
	e := s.echo
	if e.stream(0) != echoAudio || e.stream(vp8) != echoVideo || e.stream(vp8|0x80) != echoVideo || e.stream(111) != echoAudio {
		t.Fatal("payload types are not told apart")
	}
	s.SetEchoVideo(nil)
	if e.stream(vp8) != echoAudio {
		t.Fatal("video after SetEchoVideo(nil)")
	}
}

func TestEchoFeedbackReaddressed(t *testing.T) {
	s := newEchoTestSession(t)
	e, ourVideo, ourAudio := s.echo, s.EchoVideoSSRC(), s.EchoSSRC()
	for _, tc := range []struct {
		name       string
		in         []byte
		wantSource uint32
		wantFCI    []byte
	}{
		{"PLI", feedbackPacket(ptPSFB, fmtPLI, 1, ourVideo), callerVideo, nil},
		{"NACK", feedbackPacket(ptRTPFB, fmtNACK, 1, ourVideo, 0, 7, 0, 3), callerVideo, []byte{0, 7, 0, 3}},
		{"audio NACK", feedbackPacket(ptRTPFB, fmtNACK, 1, ourAudio, 0, 9, 0, 0), callerAudio, []byte{0, 9, 0, 0}},
		{"FIR", feedbackPacket(ptPSFB, fmtFIR, 1, 0, byte(ourVideo>>24), byte(ourVideo>>16), byte(ourVideo>>8), byte(ourVideo), 5, 0, 0, 0),
			0, []byte{0x0b, 0x0b, 0x0b, 0x0b, 5, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := e.feedback(withRoom(tc.in))
			if len(out) != rrPrefix+len(tc.in) {
				t.Fatalf("out % x: want an empty RR and the packet", out)
			}
			rr, fb := out[:rrPrefix], out[rrPrefix:]
			wantSender := ourVideo
			if tc.wantSource == callerAudio {
				wantSender = ourAudio
			}
			if rr[1] != ptRR || rr[0] != 0x80 || u32(rr[2:])>>16 != 1 || u32(rr[4:]) != wantSender {
				t.Errorf("report % x: want an empty RR from %#x", rr, wantSender)
			}
			if fb[0] != tc.in[0] || fb[1] != tc.in[1] || u32(fb[4:]) != wantSender || u32(fb[8:]) != tc.wantSource || !bytes.Equal(fb[12:], tc.wantFCI) {
				t.Errorf("feedback % x: want sender %#x, source %#x, FCI % x", fb, wantSender, tc.wantSource, tc.wantFCI)
			}
		})
	}
}

func TestEchoFeedbackCompound(t *testing.T) {
	s := newEchoTestSession(t)
	e, ourVideo := s.echo, s.EchoVideoSSRC()
	rr := rtcpRR(callerVideo)
	sdes := []byte{0x81, 202, 0, 2, 0x0b, 0x0b, 0x0b, 0x0b, 1, 0, 0, 0}
	pli := feedbackPacket(ptPSFB, fmtPLI, 1, ourVideo)
	remb := feedbackPacket(ptPSFB, 15, 1, 0, 'R', 'E', 'M', 'B', 1, 0, 0, 0, 0x0b, 0x0b, 0x0b, 0x0b)
	twcc := feedbackPacket(ptRTPFB, 15, 1, ourVideo, 0, 1, 0, 1, 0, 0, 0, 0)
	nack := feedbackPacket(ptRTPFB, fmtNACK, 1, ourVideo, 0, 4, 0, 0)
	in := bytes.Join([][]byte{rr, sdes, pli, remb, twcc, nack}, nil)
	out := e.feedback(withRoom(in))
	if len(out) != rrPrefix+len(pli)+len(nack) {
		t.Fatalf("out % x: want our RR, the PLI and the NACK only", out)
	}
	if out[1] != ptRR || out[rrPrefix+1] != ptPSFB || out[rrPrefix+len(pli)+1] != ptRTPFB {
		t.Fatalf("out % x: wrong packets kept", out)
	}
	if u32(out[rrPrefix+8:]) != callerVideo || u32(out[rrPrefix+len(pli)+8:]) != callerVideo {
		t.Fatalf("out % x: feedback not readdressed", out)
	}
	if got := out[len(out)-4:]; !bytes.Equal(got, []byte{0, 4, 0, 0}) {
		t.Fatalf("NACK FCI % x moved wrong", got)
	}
}

func TestEchoFeedbackDropped(t *testing.T) {
	s := newEchoTestSession(t)
	e, ourVideo := s.echo, s.EchoVideoSSRC()
	sr := make([]byte, 28)
	sr[0], sr[1], sr[3] = 0x80, 200, 6
	for name, in := range map[string][]byte{
		"SR":                   sr,
		"RR":                   rtcpRR(callerAudio),
		"BYE":                  {0x81, 203, 0, 1, 0x0b, 0x0b, 0x0b, 0x0b},
		"PLI about a stranger": feedbackPacket(ptPSFB, fmtPLI, 1, 0x12345678),
		"FIR with a stranger": feedbackPacket(ptPSFB, fmtFIR, 1, 0,
			byte(ourVideo>>24), byte(ourVideo>>16), byte(ourVideo>>8), byte(ourVideo), 1, 0, 0, 0, 1, 2, 3, 4, 1, 0, 0, 0),
		"truncated PLI": feedbackPacket(ptPSFB, fmtPLI, 1, ourVideo)[:8],
		"bad length":    {0x81, 206, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8},
		"not RTCP v2":   {0x41, 206, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8},
	} {
		if out := e.feedback(withRoom(in)); out != nil {
			t.Errorf("%s: sent % x, want nothing", name, out)
		}
	}
	// Before the caller's first video packet there is nobody to ask.
	r, _ := newTestRelay(t, testConfig(28300, 28399))
	fresh, err := r.NewEchoSession()
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if out := fresh.echo.feedback(withRoom(feedbackPacket(ptPSFB, fmtPLI, 1, fresh.EchoVideoSSRC()))); out != nil {
		t.Errorf("PLI before any video: sent % x", out)
	}
}

// TestEchoPathAllocatesNothing: the per-packet work of the echo, RTP
// rewrite and RTCP feedback, allocates nothing (the relay's budget).
func TestEchoPathAllocatesNothing(t *testing.T) {
	s := newEchoTestSession(t)
	rtp := rtpPacket(vp8, false, 2, callerVideo)
	pli := withRoom(feedbackPacket(ptPSFB, fmtPLI, 1, s.EchoVideoSSRC()))
	if n := testing.AllocsPerRun(100, func() {
		binary.BigEndian.PutUint32(rtp[8:], callerVideo)
		s.echoBack(sideXMPP, rtp, false)
		pli = pli[:12]
		binary.BigEndian.PutUint32(pli[8:], s.EchoVideoSSRC())
		s.echoBack(sideXMPP, pli, true)
	}); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

// TestEchoOverRawUDP: a raw-UDP caller with audio and video on one leg
// gets each stream back under its own echo SSRC, and its PLI about our
// video back about its own, on its RTCP port.
func TestEchoOverRawUDP(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28300, 28399))
	s, err := r.NewEchoSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := s.XMPPRaw()
	if err != nil {
		t.Fatal(err)
	}
	s.SetEchoVideo([]uint8{vp8})
	ph := newPhone(t)
	raw.SetRemote(ph.rtp.addr(), ph.rtcp.addr())
	for _, p := range []struct {
		pt   uint8
		ssrc uint32
		want uint32
	}{{0, callerAudio, s.EchoSSRC()}, {vp8, callerVideo, s.EchoVideoSSRC()}} {
		pkt := rtpPacket(p.pt, false, 7, p.ssrc)
		ph.rtp.send(raw.Local(), pkt)
		got, _, err := ph.rtp.recv(3 * time.Second)
		if err != nil {
			t.Fatalf("PT %d not echoed: %v", p.pt, err)
		}
		if got[1] != p.pt || u32(got[8:]) != p.want || !bytes.Equal(got[12:], pkt[12:]) {
			t.Fatalf("PT %d echoed as % x: want SSRC %#x", p.pt, got, p.want)
		}
	}
	ph.rtcp.send(rtcpAt(raw.Local()), append(rtcpRR(callerVideo), feedbackPacket(ptPSFB, fmtPLI, callerVideo, s.EchoVideoSSRC())...))
	got, _, err := ph.rtcp.recv(3 * time.Second)
	if err != nil {
		t.Fatalf("PLI not sent back: %v", err)
	}
	if len(got) != 20 || got[rrPrefix+1] != ptPSFB || u32(got[rrPrefix+8:]) != callerVideo {
		t.Fatalf("RTCP back % x: want our RR and a PLI about the caller's video", got)
	}
}
