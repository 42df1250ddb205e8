package sip

import (
	"fmt"
	"runtime"
	"sync"
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

// BenchmarkIdleRegistration reports what one registered, idle account
// costs the UA between refreshes: live heap and goroutines per
// registration once every REGISTER has been answered.
func BenchmarkIdleRegistration(b *testing.B) {
	const n = 2000
	ua := startUA(b, Config{})
	f := newFakeRegistrar(b, authThen(3600))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-f.seenCh:
			case <-stop:
				return
			}
		}
	}()
	for b.Loop() {
		goroutines, heap := runtime.NumGoroutine(), liveHeap()
		var registered sync.WaitGroup
		registered.Add(n)
		regs := make([]*Registration, n)
		for i := range regs {
			a := aliceAt(f.udpAddr, "")
			a.AOR = fmt.Sprintf("u%d@sip.example.org", i)
			var once sync.Once
			regs[i] = ua.NewRegistration(a, Binding{}, func(st State) {
				if st.Phase == PhaseRegistered {
					once.Do(registered.Done)
				}
			})
			regs[i].Start()
		}
		registered.Wait()
		// Completed client transactions linger for Timer K (RFC 3261
		// §17.1.2.2, 5 s over UDP); idle means after that.
		time.Sleep(6 * time.Second)
		b.ReportMetric(float64(liveHeap()-heap)/n, "B/registration")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/n, "goroutines/registration")
		for _, r := range regs {
			r.Close()
		}
	}
}

// liveHeap is the heap still reachable after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
