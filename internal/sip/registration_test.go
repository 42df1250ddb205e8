package sip

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestRegistrationRefresh(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, authThen(2, newAuth("alice", testPassword)))
	st := newStates()
	r := ua.NewRegistration(aliceAt(f.udpAddr, ""), Binding{}, st.on)
	defer r.Close()
	r.Start()
	r.Start() // idempotent

	first := st.waitPhase(t, PhaseRegistered, 5*time.Second)
	if until := time.Until(first.ExpiresAt); until <= 0 || until > 2*time.Second {
		t.Errorf("ExpiresAt in %v, want within the granted 2s", until)
	}
	if first.Latency <= 0 || first.Binding.CSeq != 2 {
		t.Errorf("state %+v", first)
	}
	second := st.waitPhase(t, PhaseRegistered, 3*time.Second)
	if !second.ExpiresAt.After(first.ExpiresAt) {
		t.Errorf("refresh did not extend the binding: %v then %v", first.ExpiresAt, second.ExpiresAt)
	}
	reqs := f.requests()
	if len(reqs) < 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	refresh := reqs[2]
	if refresh.callID != reqs[0].callID || refresh.cseq <= reqs[1].cseq {
		t.Errorf("refresh Call-ID %q CSeq %d; first %q CSeq %d", refresh.callID, refresh.cseq, reqs[0].callID, reqs[1].cseq)
	}
	// The refresh came before the 2s binding ran out.
	if d := refresh.at.Sub(reqs[1].at); d >= 2*time.Second || d < 900*time.Millisecond {
		t.Errorf("refresh %v after registering, want ~1s (before the 2s expiry, never a hot loop)", d)
	}
}

func TestRegistrationWrongPasswordBacksOff(t *testing.T) {
	ua := startUA(t, Config{AuthRetryMin: time.Second, AuthRetryMax: 10 * time.Second, RetryMin: 10 * time.Millisecond})
	f := newFakeRegistrar(t, authThen(0, newAuth("alice", testPassword)))
	a := aliceAt(f.udpAddr, "")
	a.Password = wrongPassword
	st := newStates()
	r := ua.NewRegistration(a, Binding{}, st.on)
	r.Start()
	failed := st.waitPhase(t, PhaseFailed, 5*time.Second)
	if !IsAuthFailure(failed.Err) {
		t.Errorf("failure %v, want an auth failure", failed.Err)
	}
	if wait := failed.RetryAt.Sub(time.Now()); wait < 900*time.Millisecond || wait > 2*time.Second {
		t.Errorf("retry in %v, want the auth back-off (1s..2s)", wait)
	}
	checkNoSecret(t, failed.Err)
	time.Sleep(2 * time.Second) // counting requests over time is the point
	r.Close()
	// 2 requests per attempt (challenge, rejected answer); attempts at 0s
	// and after 1-2s: no more than 4 in 2s.
	if n := len(f.requests()); n < 2 || n > 4 {
		t.Errorf("%d REGISTERs in 2s, want 2..4", n)
	}
}

func TestRegistrationUpdateRetriesNow(t *testing.T) {
	ua := startUA(t, Config{AuthRetryMin: time.Hour})
	f := newFakeRegistrar(t, authThen(0, newAuth("alice", testPassword)))
	a := aliceAt(f.udpAddr, "")
	a.Password = wrongPassword
	st := newStates()
	r := ua.NewRegistration(a, Binding{}, st.on)
	defer r.Close()
	r.Start()
	st.waitPhase(t, PhaseFailed, 5*time.Second) // next attempt in an hour
	a.Password = testPassword
	r.Update(a)
	ok := st.waitPhase(t, PhaseRegistered, 5*time.Second)
	if ok.Binding.CSeq != 4 {
		t.Errorf("CSeq %d, want 4 (same binding continued)", ok.Binding.CSeq)
	}
}

func TestRegistrationTimeoutBacksOff(t *testing.T) {
	ua := startUA(t, Config{RequestTimeout: 300 * time.Millisecond, RetryMin: 200 * time.Millisecond, RetryMax: 400 * time.Millisecond})
	f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply { return reply{drop: true} })
	st := newStates()
	r := ua.NewRegistration(aliceAt(f.udpAddr, ""), Binding{}, st.on)
	r.Start()
	start := time.Now()
	failed := st.waitPhase(t, PhaseFailed, 5*time.Second)
	if !IsTimeout(failed.Err) {
		t.Fatalf("failure %v, want timeout", failed.Err)
	}
	if wait := time.Until(failed.RetryAt); wait > 400*time.Millisecond {
		t.Errorf("retry in %v, want within RetryMax", wait)
	}
	st.waitPhase(t, PhaseFailed, 5*time.Second)
	st.waitPhase(t, PhaseFailed, 5*time.Second)
	r.Close()
	elapsed := time.Since(start)
	// Distinct CSeqs are attempts (UDP retransmissions repeat the CSeq).
	var cseqs []uint32
	for _, s := range f.requests() {
		cseqs = append(cseqs, s.cseq)
	}
	slices.Sort(cseqs)
	cseqs = slices.Compact(cseqs)
	// Each attempt costs at least 300ms timeout + 200ms back-off.
	if max := int(elapsed/(500*time.Millisecond)) + 1; len(cseqs) < 3 || len(cseqs) > max {
		t.Errorf("%d attempts in %v, want 3..%d", len(cseqs), elapsed, max)
	}
}

func TestRegistrationRetryAfter(t *testing.T) {
	ua := startUA(t, Config{RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply {
		return reply{code: 503, headers: []sipmsg.Header{sipmsg.NewHeader("Retry-After", "1 (maintenance)")}}
	})
	st := newStates()
	r := ua.NewRegistration(aliceAt(f.udpAddr, ""), Binding{}, st.on)
	defer r.Close()
	r.Start()
	failed := st.waitPhase(t, PhaseFailed, 5*time.Second)
	var se *StatusError
	if !errors.As(failed.Err, &se) || se.Code != 503 || se.RetryAfter != time.Second {
		t.Fatalf("failure %#v", failed.Err)
	}
	if failed.Err.Error() != "SIP registrar answered 503 Service Unavailable" {
		t.Errorf("error text %q", failed.Err)
	}
	first := f.next(t, time.Second)
	second := f.next(t, 3*time.Second)
	if gap := second.at.Sub(first.at); gap < 950*time.Millisecond {
		t.Errorf("retried after %v despite Retry-After: 1", gap)
	}
}

func TestRegistrationUnregister(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, authThen(0, newAuth("alice", testPassword)))
	st := newStates()
	r := ua.NewRegistration(aliceAt(f.udpAddr, ""), Binding{}, st.on)
	r.Start()
	st.waitPhase(t, PhaseRegistered, 5*time.Second)
	if err := r.Unregister(t.Context()); err != nil {
		t.Fatal(err)
	}
	done := st.waitPhase(t, PhaseUnregistered, time.Second)
	reqs := f.requests()
	last := reqs[len(reqs)-1]
	want := "<sip:" + testToken + "@" + ua.Addr().String() + ";transport=udp>;expires=0"
	if len(last.contacts) != 1 || last.contacts[0] != want || last.expires != "0" {
		t.Errorf("un-REGISTER Contact %q Expires %q, want only %q and 0", last.contacts, last.expires, want)
	}
	if last.callID != reqs[0].callID || done.Binding.CSeq != last.cseq {
		t.Errorf("un-REGISTER Call-ID %q CSeq %d, state binding %+v", last.callID, last.cseq, done.Binding)
	}
	r.Close() // after Unregister: no-op
	r.Start() // after Unregister: no-op
}

func TestRegistrationCloseKeepsBinding(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, accept(2))
	st := newStates()
	r := ua.NewRegistration(aliceAt(f.udpAddr, ""), Binding{}, st.on)
	r.Start()
	reg := st.waitPhase(t, PhaseRegistered, 5*time.Second)
	r.Close()
	r.Close()
	if r.Binding() != reg.Binding {
		t.Errorf("Binding() %+v, last state %+v", r.Binding(), reg.Binding)
	}
	n := len(f.requests())
	// The refresh would be due after ~1s; nothing may be sent after Close,
	// in particular no expires=0.
	time.Sleep(1500 * time.Millisecond)
	if got := f.requests(); len(got) != n {
		t.Errorf("requests after Close: %+v", got[n:])
	}
	select {
	case s := <-st.ch:
		t.Errorf("state after Close: %+v", s)
	default:
	}

	// A new Registration with the saved binding continues it.
	r2 := ua.NewRegistration(aliceAt(f.udpAddr, ""), reg.Binding, st.on)
	defer r2.Close()
	r2.Start()
	st.waitPhase(t, PhaseRegistered, 5*time.Second)
	next := f.requests()[n]
	if next.callID != reg.Binding.CallID || next.cseq != reg.Binding.CSeq+1 {
		t.Errorf("continued binding: Call-ID %q CSeq %d, want %q and %d", next.callID, next.cseq, reg.Binding.CallID, reg.Binding.CSeq+1)
	}
}

func TestRegistrationUAStops(t *testing.T) {
	ua, err := NewUA(Config{ListenAddr: "127.0.0.1:0"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply { return reply{drop: true} })
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ua.Run(runCtx) }()
	st := newStates()
	r := ua.NewRegistration(aliceAt(f.udpAddr, ""), Binding{}, st.on)
	defer r.Close()
	r.Start()
	f.next(t, 5*time.Second) // the REGISTER is in flight
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	failed := st.waitPhase(t, PhaseFailed, 5*time.Second)
	if !errors.Is(failed.Err, ErrClosed) {
		t.Errorf("failure %v, want ErrClosed", failed.Err)
	}
	if !strings.Contains(failed.Err.Error(), "stopped") {
		t.Errorf("error text %q", failed.Err)
	}
}

// TestRegistrationNoHotLoop counts the requests of registrars that fail
// instantly: even then the loop waits between attempts.
func TestRegistrationNoHotLoop(t *testing.T) {
	for _, code := range []int{500, 404} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			ua := startUA(t, Config{RetryMin: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond, AuthRetryMin: 50 * time.Millisecond, AuthRetryMax: 100 * time.Millisecond})
			f := newFakeRegistrar(t, func(*sipmsg.Request, seen) reply { return reply{code: code} })
			r := ua.NewRegistration(aliceAt(f.udpAddr, ""), Binding{}, nil)
			start := time.Now()
			r.Start()
			time.Sleep(500 * time.Millisecond) // counting requests over time is the point
			r.Close()
			if n, max := len(f.requests()), int(time.Since(start)/(50*time.Millisecond))+1; n < 2 || n > max {
				t.Errorf("%d requests in %v, want 2..%d", n, time.Since(start), max)
			}
		})
	}
}

func TestRegisterCSeqWraps(t *testing.T) {
	ua := startUA(t, Config{})
	f := newFakeRegistrar(t, accept(0))
	_, next, err := ua.Register(t.Context(), aliceAt(f.udpAddr, ""), Binding{CallID: "old", CSeq: 1<<31 - 2}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if next.CallID == "old" || next.CSeq != 1 {
		t.Errorf("binding %+v: want a new Call-ID starting at CSeq 1", next)
	}
}
