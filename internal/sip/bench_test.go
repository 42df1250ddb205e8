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
