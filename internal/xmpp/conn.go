package xmpp

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one established connection. Its queue, waiters and
// done channel die with it; nothing carries over to the next connection.
type conn struct {
	// nc is the socket, or the TLS connection over it once a client link
	// did STARTTLS; it is replaced only during login, before anything else
	// uses the conn.
	nc   net.Conn
	jid  string        // bound full JID (client) or the component's domain; set before serving
	out  chan []byte   // marshalled stanzas, bounded: the backpressure point
	iqs  iqTable       // SendIQ waiters
	stop chan closeReq // tells the writer to finish; buffered 1

	// done is closed once the connection stops taking stanzas. Senders
	// blocked on a full queue and SendIQ waiters watch it.
	done    chan struct{}
	mu      sync.Mutex
	closed  bool
	senders sync.WaitGroup // Send calls between the closed check and their return

	// wmu orders the writer's per-flush deadline against the closer's final
	// deadline, so a late flush cannot extend a close that must be bounded.
	wmu     sync.Mutex
	closing bool

	lastRead atomic.Int64 // unix nanoseconds of the last bytes read
}

// closeReq asks the writer to end the stream: optionally flush what is
// queued, then write tail and </stream:stream>.
type closeReq struct {
	drain bool
	tail  []byte
}

func newConn(nc net.Conn, queueSize int) *conn {
	c := &conn{
		nc:   nc,
		out:  make(chan []byte, queueSize),
		stop: make(chan closeReq, 1),
		done: make(chan struct{}),
	}
	c.lastRead.Store(time.Now().UnixNano())
	return c
}

// enqueue queues one marshalled stanza, blocking while the queue is full.
func (c *conn) enqueue(ctx context.Context, b []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrNotConnected
	}
	c.senders.Add(1)
	c.mu.Unlock()
	defer c.senders.Done()

	select {
	case c.out <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrNotConnected
	}
}

// shutSends stops taking stanzas and waits until no Send is between its
// closed check and its return, so the queue is final afterwards.
func (c *conn) shutSends() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	c.mu.Unlock()
	c.senders.Wait()
}

// drainQueue discards what is left in the queue and returns how many.
func (c *conn) drainQueue() int {
	n := 0
	for {
		select {
		case <-c.out:
			n++
		default:
			return n
		}
	}
}

// finishWrites asks the writer to end the stream and bounds the time it may
// take by a write deadline that later flushes cannot extend.
func (c *conn) finishWrites(req closeReq, deadline time.Time) {
	c.wmu.Lock()
	c.closing = true
	_ = c.nc.SetWriteDeadline(deadline)
	c.wmu.Unlock()
	select {
	case c.stop <- req:
	default:
	}
}

// armWrite sets the deadline of the next flush, unless a close is under way.
func (c *conn) armWrite(d time.Duration) {
	c.wmu.Lock()
	if !c.closing {
		_ = c.nc.SetWriteDeadline(time.Now().Add(d))
	}
	c.wmu.Unlock()
}

// activityReader notes when bytes last arrived, for the ping watchdog. It
// sits under the bufio.Reader, so it costs one clock read per socket read.
type activityReader struct {
	r    net.Conn
	last *atomic.Int64
}

func (a activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.last.Store(time.Now().UnixNano())
	}
	return n, err
}
