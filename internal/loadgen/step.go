package loadgen

import (
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// step counts one offered call rate while it runs. Counters are written by
// many call goroutines and by the connections' readers.
type step struct {
	rate float64

	attempted, completed, failed, skipped atomic.Int64 // outgoing (XMPP → SIP)
	byes                                  atomic.Int64 // BYEs that reached our UAS
	uasRetransmits                        atomic.Int64 // 200s our UAS repeated, their ACK not yet in
	inAnswered, inEnded, inRefused        atomic.Int64 // incoming (SIP → XMPP), as the users saw them

	mu      sync.Mutex
	reasons map[string]int

	setup, siInvite, invite200, okAccept samples
}

func newStep(rate float64) *step { return &step{rate: rate, reasons: map[string]int{}} }

// maxReasons bounds the distinct failure texts kept per step.
const maxReasons = 20

// addrRE matches the socket addresses in network errors, so that one kind
// of failure is counted under one text.
var addrRE = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`)

func (st *step) fail(reason string) {
	st.failed.Add(1)
	reason = addrRE.ReplaceAllString(reason, "ADDR")
	st.mu.Lock()
	if _, ok := st.reasons[reason]; ok || len(st.reasons) < maxReasons {
		st.reasons[reason]++
	} else {
		st.reasons["(other)"]++
	}
	st.mu.Unlock()
}

func (st *step) failures() map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	m := make(map[string]int, len(st.reasons))
	for k, v := range st.reasons {
		m[k] = v
	}
	return m
}

// recordSetup stores an answered call's latencies: the whole setup as the
// caller sees it and, when our UAS stamped the SIP side, its three phases:
// session-initiate → INVITE (gateway and registrar), INVITE → 200 (the
// answering peer) and 200 → session-accept (registrar and gateway).
func (st *step) recordSetup(r *runner, c *call, accepted time.Time) {
	st.setup.add(accepted.Sub(c.start))
	inv, ok := c.invite.Load(), c.answered.Load()
	if inv == 0 || ok == 0 {
		return
	}
	tInv, tOK := r.epoch.Add(time.Duration(inv)), r.epoch.Add(time.Duration(ok))
	st.siInvite.add(tInv.Sub(c.start))
	st.invite200.add(tOK.Sub(tInv))
	st.okAccept.add(accepted.Sub(tOK))
}
