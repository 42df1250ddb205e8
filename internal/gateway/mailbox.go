package gateway

import (
	"sync"
	"time"
)

// mailboxLinger is how long a drain goroutine waits for more work once its
// queue is empty. A call is a burst of closures milliseconds apart
// (session-initiate, the INVITE's provisional and final responses, the
// session-accept, the teardown's request and its answer): a goroutine
// started anew for each began on a small stack and grew it again
// (morestack/copystack was ~8 % of the gateway's CPU per call in the bench
// profile) and cost a spawn and a scheduler hand-off. A second keeps a
// call's setup, and a short call's teardown, on one warm goroutine; then it
// exits, so an idle user still costs no goroutine. The price is the parked
// goroutine's stack while it waits: at 1,000 busy users a second, about
// 1,000 goroutines of 8–32 KiB.
const mailboxLinger = time.Second

// mailbox runs closures one at a time and in order, on a goroutine that
// exists only while there is work and for mailboxLinger after: an idle user
// costs a few hundred bytes, not a parked goroutine, which matters with
// many registered users.
type mailbox struct {
	wg    *sync.WaitGroup // counts running drain goroutines
	space *sync.Cond      // signalled when the queue shrinks or the box closes
	// wake belongs to the drain goroutine while it lingers (nil otherwise):
	// a post or close sends on it instead of starting a goroutine.
	wake    chan struct{}
	queue   []func()
	mu      sync.Mutex
	limit   int32 // int32 keeps the struct in its 64-byte size class
	running bool  // a drain goroutine exists, working or lingering
	closed  bool
}

func newMailbox(wg *sync.WaitGroup, limit int) *mailbox {
	m := &mailbox{wg: wg, limit: int32(limit)}
	m.space = sync.NewCond(&m.mu)
	return m
}

// post queues fn, waiting while limit closures are queued: a flood from one
// user slows the read loop down instead of growing memory. It must not be
// called from the mailbox's own closures. It reports false once closed.
func (m *mailbox) post(fn func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.queue) >= int(m.limit) && !m.closed {
		m.space.Wait()
	}
	return m.enqueue(fn)
}

// postNow queues fn without ever waiting, for callers the actor itself may
// be waiting on (a registration loop reporting while being stopped).
func (m *mailbox) postNow(fn func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.enqueue(fn)
}

func (m *mailbox) enqueue(fn func()) bool {
	if m.closed {
		return false
	}
	m.queue = append(m.queue, fn)
	switch {
	case m.wake != nil:
		m.rouse()
	case !m.running:
		m.running = true
		m.wg.Add(1)
		go m.drain()
	}
	return true
}

// rouse wakes the lingering drain goroutine. Its channel holds one
// wake-up; a full one already has it coming.
func (m *mailbox) rouse() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// drain runs the queue, lingers for more and exits when none came or the
// box closed. It holds mu except while a closure runs or it lingers.
func (m *mailbox) drain() {
	defer m.wg.Done()
	var l lingerer
	defer l.stop()
	m.mu.Lock()
	for len(m.queue) > 0 || (!m.closed && m.linger(&l)) {
		fn := m.queue[0]
		m.queue[0] = nil
		m.queue = m.queue[1:]
		m.space.Signal()
		m.mu.Unlock()
		fn()
		m.mu.Lock()
	}
	m.running = false
	m.queue = nil // let a burst's backing array go
	m.mu.Unlock()
}

// linger waits, with mu held on entry and on return, up to mailboxLinger
// for a post or close, and reports whether there is work.
func (m *mailbox) linger(l *lingerer) bool {
	m.wake = l.arm()
	m.mu.Unlock()
	select {
	case <-l.wake:
	case <-l.timer.C:
	}
	m.mu.Lock()
	m.wake = nil
	// A post may have sent just as the timer fired: drop that wake-up, the
	// queue below says what there is to do.
	select {
	case <-l.wake:
	default:
	}
	return len(m.queue) > 0
}

// close drops every later post; what is queued still runs, and a lingering
// drain goroutine exits at once.
func (m *mailbox) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.space.Broadcast()
	if m.wake != nil {
		m.rouse()
	}
}

// lingerer is one drain goroutine's means to wait: a timer reused across
// its lingers (never one per message) and the channel posts wake it on.
// Both are made at its first linger and dropped when it exits.
type lingerer struct {
	timer *time.Timer
	wake  chan struct{}
}

// arm starts a linger and returns the wake channel. Reset on a timer that
// fired unread drops the stale tick (Go 1.23 timer semantics, go.mod ≥ 1.23).
func (l *lingerer) arm() chan struct{} {
	if l.timer == nil {
		l.timer = time.NewTimer(mailboxLinger)
		l.wake = make(chan struct{}, 1)
	} else {
		l.timer.Reset(mailboxLinger)
	}
	return l.wake
}

func (l *lingerer) stop() {
	if l.timer != nil {
		l.timer.Stop()
	}
}
