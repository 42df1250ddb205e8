package iceleg

import (
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

// TestManyLegsLeaveNothing creates and closes 200 legs, half of them
// after SetRemote (handshake under way), and checks that no goroutine and
// no socket survive: a gateway makes one leg per call for months.
func TestManyLegsLeaveNothing(t *testing.T) {
	// Warm up pion's lazily started process-wide state (if any) so that
	// it is not counted as a leak.
	warm := newTestLeg(t, "warm-up", true, time.Second)
	_ = warm.Close()

	baseG := leakcheck.Count()
	baseFD := openFDs(t)
	fp := testCert(t).Fingerprint()
	for i := range 200 {
		l, err := New(Config{Conn: listen(t), Announce: loopback, Certificate: testCert(t), Controlling: i%4 == 0})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := l.SetRemote(RemoteICE{Ufrag: "gone", Pwd: "gonegonegonegonegonegone", Fingerprint: fp, Setup: SetupActpass}); err != nil {
				t.Fatal(err)
			}
			if err := l.AddRemoteCandidate(l.Candidates()[0]); err != nil { // talks to itself: never completes
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := leakcheck.Settle(baseG, 5*time.Second); err != nil {
		t.Error(err)
	}
	if fd := openFDs(t); fd > baseFD {
		t.Errorf("%d file descriptors open after closing 200 legs, %d before", fd, baseFD)
	}
}
