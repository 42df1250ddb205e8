package gateway

import "sync"

// mailbox runs closures one at a time and in order, on a goroutine that
// exists only while there is work: an idle user costs a few hundred bytes,
// not a parked goroutine, which matters with many registered users.
type mailbox struct {
	wg      *sync.WaitGroup // counts running drain goroutines
	limit   int
	mu      sync.Mutex
	space   *sync.Cond // signalled when the queue shrinks or the box closes
	queue   []func()
	running bool
	closed  bool
}

func newMailbox(wg *sync.WaitGroup, limit int) *mailbox {
	m := &mailbox{wg: wg, limit: limit}
	m.space = sync.NewCond(&m.mu)
	return m
}

// post queues fn, waiting while limit closures are queued: a flood from one
// user slows the read loop down instead of growing memory. It must not be
// called from the mailbox's own closures. It reports false once closed.
func (m *mailbox) post(fn func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.queue) >= m.limit && !m.closed {
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
	if !m.running {
		m.running = true
		m.wg.Add(1)
		go m.drain()
	}
	return true
}

func (m *mailbox) drain() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		if len(m.queue) == 0 {
			m.running = false
			m.queue = nil // let a burst's backing array go
			m.mu.Unlock()
			return
		}
		fn := m.queue[0]
		m.queue[0] = nil
		m.queue = m.queue[1:]
		m.space.Signal()
		m.mu.Unlock()
		fn()
	}
}

// close drops every later post; what is queued still runs.
func (m *mailbox) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.space.Broadcast()
}
