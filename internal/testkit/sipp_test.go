package testkit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// Captured from SIPp 3.6.1 (-trace_msg) running uac-busy.xml through the
// lab Kamailio, shortened; the 603 is a stray retransmission from an
// earlier call on the same port, and the first block has a body.
const sippTraceSample = `----------------------------------------------- 2026-11-24 09:02:01.600000
UDP message received [261] bytes :

SIP/2.0 603 Decline
Via: SIP/2.0/UDP 127.0.0.1:26090;rport=26090;branch=z9hG4bK-7259-1-4
Call-ID: 1-7259@127.0.0.1
CSeq: 2 INVITE
Content-Length: 0


----------------------------------------------- 2026-11-24 09:02:01.601426
UDP message sent (664 bytes):

INVITE sip:bob@sip.example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:26090;branch=z9hG4bK-10551-1-0
Call-ID: 1-10551@127.0.0.1
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length:   60

v=0
c=IN IP4 127.0.0.1
i: not a header
m=audio 27090 RTP/AVP 0 8 101

----------------------------------------------- 2026-11-24 09:02:01.601559
UDP message received [454] bytes :

SIP/2.0 407 Proxy Authentication Required
i: 1-10551@127.0.0.1
CSeq: 1 INVITE
Content-Length: 0


----------------------------------------------- 2026-11-24 09:02:01.601684
UDP message sent (320 bytes):

ACK sip:bob@sip.example.org SIP/2.0
Call-ID: 1-10551@127.0.0.1
CSeq: 1 ACK


----------------------------------------------- 2026-11-24 09:02:01.602867
UDP message sent (898 bytes):

INVITE sip:bob@sip.example.org SIP/2.0
Call-ID: 1-10551@127.0.0.1
CSeq: 2 INVITE


----------------------------------------------- 2026-11-24 09:02:01.603000
UDP message received [293] bytes :

SIP/2.0 100 trying -- your call is important to us
Call-ID: 1-10551@127.0.0.1


----------------------------------------------- 2026-11-24 09:02:01.604000
UDP message received [261] bytes :

SIP/2.0 486 Busy Here
Call-ID: 1-10551@127.0.0.1
CSeq: 2 INVITE


----------------------------------------------- 2026-11-24 09:02:01.605000
UDP message sent (220 bytes):

ACK sip:bob@sip.example.org SIP/2.0
Call-ID: 1-10551@127.0.0.1
CSeq: 2 ACK

`

func TestParseSIPpTrace(t *testing.T) {
	msgs := parseSIPpTrace(sippTraceSample)
	if len(msgs) != 8 {
		t.Fatalf("%d messages, want 8: %+v", len(msgs), msgs)
	}
	if m := msgs[1]; !m.sent || m.method() != "INVITE" || m.status() != 0 || m.callID != "1-10551@127.0.0.1" {
		t.Errorf("second message: %+v", m)
	}
	if m := msgs[2]; m.sent || m.status() != 407 || m.method() != "" || m.callID != "1-10551@127.0.0.1" {
		t.Errorf("407 (compact Call-ID header): %+v", m)
	}
	statuses, requests := callMessages(msgs)
	if want := []int{407, 100, 486}; !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v (the stray 603 of another call left out)", statuses, want)
	}
	if want := []string{"INVITE", "ACK", "INVITE", "ACK"}; !slices.Equal(requests, want) {
		t.Errorf("requests %v, want %v", requests, want)
	}
	if s, r := callMessages(nil); s != nil || r != nil {
		t.Errorf("empty trace: %v %v", s, r)
	}
}

func TestParseSIPpScreen(t *testing.T) {
	screen := `----------------------------- Statistics Screen ------- [1-9]: Change Screen --
  Counter Name           | Periodic value            | Cumulative value
-------------------------+---------------------------+--------------------------
  Successful call        |        0                  |        1                 
  Failed call            |        0                  |        0                 
------------------------------ Test Terminated --------------------------------
  Successful call        |        0                  |        2                 
  Failed call            |        1                  |        3                 
`
	if ok, failed := parseSIPpScreen(screen); ok != 2 || failed != 3 {
		t.Fatalf("parseSIPpScreen = %d, %d; want the last screen's 2, 3", ok, failed)
	}
}

// TestSIPpPeer runs SIPp scenarios against each other through a real
// Kamailio: each side exits 0 only if the call went its scenario's way.
func TestSIPpPeer(t *testing.T) {
	t.Parallel()
	kam := StartKamailio(t, KamailioConfig{Port: 26100})
	ctx := ctxFor(t, 2*time.Minute)
	// each subtest's UAS is stopped with the subtest, so the ports are free for the next
	uas := func(t *testing.T, scenario string) *SIPpUAS {
		return StartSIPpUAS(t, SIPpConfig{Scenario: scenario, User: "bob", Password: "bobpw", Port: 26110, Proxy: kam.Addr})
	}
	uac := func(t *testing.T, scenario string) (SIPpResult, error) {
		return RunSIPpUAC(ctx, t, SIPpConfig{Scenario: scenario, User: "alice", Password: "alicepw", Port: 26120, Proxy: kam.Addr, Target: "bob"})
	}

	t.Run("busy", func(t *testing.T) {
		callee := uas(t, "uas-busy")
		res, err := uac(t, "uac-busy")
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || res.Successful != 1 || res.Failed != 0 || !slices.Contains(res.Statuses, 486) || res.Statuses[0] != 407 {
			t.Fatalf("caller: %+v", res)
		}
		if !slices.Equal(res.Requests, []string{"INVITE", "ACK", "INVITE", "ACK"}) {
			t.Errorf("caller's requests %v", res.Requests)
		}
		got, err := callee.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(got.Statuses, 486) || !slices.Contains(got.Statuses, 180) || !slices.Equal(got.Requests, []string{"INVITE", "ACK"}) {
			t.Fatalf("callee: statuses %v requests %v", got.Statuses, got.Requests)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		callee := uas(t, "uas-noanswer")
		res, err := uac(t, "uac-cancel")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(res.Statuses, 487) || !slices.Contains(res.Requests, "CANCEL") {
			t.Fatalf("caller: statuses %v requests %v", res.Statuses, res.Requests)
		}
		if got, err := callee.Wait(ctx); err != nil || !slices.Contains(got.Statuses, 487) || !slices.Contains(got.Requests, "CANCEL") {
			t.Fatalf("callee: %+v, %v", got, err)
		}
	})

	// a caller expecting 486 from a callee that declines: its call fails
	t.Run("mismatch", func(t *testing.T) {
		callee := uas(t, "uas-decline")
		res, err := uac(t, "uac-busy")
		if err == nil || res.ExitCode != 1 || res.Failed != 1 {
			t.Fatalf("caller expecting 486 got 603 and passed: %+v, %v", res, err)
		}
		if !slices.Contains(res.Statuses, 603) || slices.Contains(res.Statuses, 486) {
			t.Errorf("caller's statuses %v", res.Statuses)
		}
		if !strings.Contains(res.Trace, "603 Decline") {
			t.Errorf("trace lacks the 603:\n%s", res.Trace)
		}
		if _, err := callee.Wait(ctx); err != nil {
			t.Fatalf("the declining callee did its part: %v", err)
		}
	})
}

// TestSIPpUASWaitTimeout: Wait gives up with the context while the UAS
// still waits for its call.
func TestSIPpUASWaitTimeout(t *testing.T) {
	t.Parallel()
	kam := StartKamailio(t, KamailioConfig{Port: 26130})
	callee := StartSIPpUAS(t, SIPpConfig{Scenario: "uas-answer", User: "carol", Password: "carolpw", Port: 26140, Proxy: kam.Addr})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := callee.Wait(ctx)
	if err == nil || res.ExitCode != -1 || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Wait without a call: %+v, %v", res, err)
	}
}

func TestSIPpResultErr(t *testing.T) {
	for _, tc := range []struct {
		res SIPpResult
		ok  bool
	}{
		{SIPpResult{ExitCode: 0, Successful: 1}, true},
		{SIPpResult{ExitCode: 1, Failed: 1}, false},
		{SIPpResult{ExitCode: 0}, false}, // stopped by a signal before its call
		{SIPpResult{ExitCode: 0, Successful: 1, Failed: 1}, false},
		{SIPpResult{ExitCode: -1}, false},
	} {
		if err := tc.res.err("x"); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v, want ok=%v", tc.res, err, tc.ok)
		}
	}
}
