package sip

import (
	"testing"
	"time"
)

// BenchmarkRegister measures one REGISTER exchange with an MD5 digest
// challenge (two transactions) over loopback UDP against the fake
// registrar; both ends run in this process.
func BenchmarkRegister(b *testing.B) {
	ua := startUA(b, Config{})
	f := newFakeRegistrar(b, authThen(0, newAuth("alice", testPassword, "SHA-256")))
	a := aliceAt(f.udpAddr, "")
	var bind Binding
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, bind, err = ua.Register(b.Context(), a, bind, time.Hour); err != nil {
			b.Fatal(err)
		}
		<-f.seenCh
		<-f.seenCh
	}
}

// BenchmarkCallSetup measures one outbound call over loopback UDP against
// an in-process sipgo peer: INVITE, 200, ACK, then our BYE and its 200.
func BenchmarkCallSetup(b *testing.B) {
	ua := startUA(b, Config{})
	p := newPeer(b)
	rec := newRecorder()
	r := InviteRequest{Account: aliceAt(p.udpAddr, ""), Target: "sip:bob@" + p.udpAddr, SDP: []byte(offerSDP), Handler: rec}
	b.ReportAllocs()
	for b.Loop() {
		c, err := ua.Invite(b.Context(), r)
		if err != nil {
			b.Fatal(err)
		}
		rec.want(b, EventAnswered, 5*time.Second)
		if err := c.Hangup(b.Context(), ""); err != nil {
			b.Fatal(err)
		}
		for range 3 { // INVITE, ACK, BYE
			<-p.got
		}
		c.Close()
	}
}
