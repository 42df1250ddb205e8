package sip

import (
	"sync"
	"sync/atomic"
)

// callTable is the UA's live calls by Call-ID: requests in a dialog find
// their call here, and Run releases what is left when it stops.
type callTable struct {
	mu     sync.Mutex
	byID   map[string]*Call
	closed bool
}

// add registers c; false if its Call-ID is taken or the UA stopped.
func (t *callTable) add(c *Call) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.byID[c.id] != nil {
		return false
	}
	if t.byID == nil {
		t.byID = map[string]*Call{}
	}
	t.byID[c.id] = c
	return true
}

func (t *callTable) get(id string) *Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

func (t *callTable) remove(c *Call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[c.id] == c {
		delete(t.byID, c.id)
	}
}

func (t *callTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// close refuses new calls and returns the live ones.
func (t *callTable) close() []*Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	out := make([]*Call, 0, len(t.byID))
	for _, c := range t.byID {
		out = append(out, c)
	}
	return out
}

// stopCalls releases every live call when Run stops: timers stop and
// waiters wake, but nothing is signalled to the peers; whether to BYE them
// is the gateway core's decision, taken before it stops the UA.
func (ua *UA) stopCalls() {
	for _, c := range ua.calls.close() {
		c.end(nil)
	}
}

// callStats are the UA's call counters.
type callStats struct {
	out, in, answered, failed atomic.Uint64
}

// Stats is a snapshot of the UA's call counters, for the metrics package.
type Stats struct {
	CallsOut      uint64 // outbound calls placed (Invite)
	CallsIn       uint64 // inbound calls handed to the SetIncoming hook
	CallsAnswered uint64 // calls whose dialog got established, either way
	CallsFailed   uint64 // calls that ended without being answered, either way
	CallsActive   int    // calls not ended yet
}

// Stats returns the current counters. It is cheap and safe to call from any
// goroutine.
func (ua *UA) Stats() Stats {
	return Stats{
		CallsOut:      ua.stats.out.Load(),
		CallsIn:       ua.stats.in.Load(),
		CallsAnswered: ua.stats.answered.Load(),
		CallsFailed:   ua.stats.failed.Load(),
		CallsActive:   ua.calls.len(),
	}
}

// allow is our Allow header value: INVITE only with an incoming-call hook.
func (ua *UA) allow() string {
	if ua.incoming != nil {
		return allowCalls
	}
	return allowNoCalls
}

// goTracked runs f on a goroutine that Run waits for; false if Run is
// stopping.
func (ua *UA) goTracked(f func()) bool {
	if !ua.enterInbound() {
		return false
	}
	go func() {
		defer ua.inflight.Done()
		f()
	}()
	return true
}
