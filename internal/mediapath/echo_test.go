package mediapath

import (
	"bytes"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
)

func TestEchoReturnsTheUsersMedia(t *testing.T) {
	r := newRelay(t, time.Minute)
	p, err := r.OpenEcho(func(err error) { t.Errorf("ended: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	user := udp(t)
	ans, err := p.Answer(audio(raw(addrOf(user)), jingle.PayloadType{ID: 8, Name: "PCMA", Clockrate: 8000}, pcmu, dtmf101), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pts := ans[0].Description.PayloadTypes; len(pts) != 2 || pts[0].Name != "PCMA" || pts[1].Name != "telephone-event" {
		t.Fatalf("answer codecs %+v: want the first offered codec and telephone-event", pts)
	}
	leg := candidateAddr(t, ans[0].Transport)
	pkt := []byte{0x80, 8, 0, 1, 0, 0, 0, 160, 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3, 4}
	if _, err := user.WriteToUDPAddrPort(pkt, leg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = user.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := user.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("nothing echoed: %v", err)
	}
	got := buf[:n]
	if !bytes.Equal(got[12:], pkt[12:]) || got[1] != 8 || bytes.Equal(got[8:12], pkt[8:12]) {
		t.Fatalf("echo % x: want the payload back under another SSRC (sent % x)", got, pkt)
	}
}

func TestEchoNeedsACodec(t *testing.T) {
	r := newRelay(t, time.Minute)
	p, err := r.OpenEcho(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Answer(audio(raw(addrOf(udp(t))), dtmf101), nil); err == nil {
		t.Fatal("an offer with only telephone-event was answered")
	}
}
