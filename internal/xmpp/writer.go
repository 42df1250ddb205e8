package xmpp

import (
	"bufio"
	"fmt"
	"time"
)

// maxBatch bounds how many stanzas go into one flush, so one write
// deadline never has to cover an unbounded amount of data.
const maxBatch = 256

var (
	streamClose = []byte("</stream:stream>")
	keepalive   = []byte(" ")
)

// writer owns the socket's write side for one connection.
type writer struct {
	c       *conn
	bw      *bufio.Writer
	timeout time.Duration
	stats   *counters
}

// writeLoop drains the queue until the connection is told to finish or a
// write fails. A whitespace keepalive goes out after KeepAlive without
// writes, which keeps NAT and idle-timeout middleboxes from dropping us.
func (l *Link) writeLoop(c *conn) error {
	w := &writer{c: c, bw: bufio.NewWriterSize(c.nc, 32<<10), timeout: l.cfg.WriteTimeout, stats: &l.stats}
	var idle <-chan time.Time
	var timer *time.Timer
	if l.cfg.KeepAlive > 0 {
		timer = time.NewTimer(l.cfg.KeepAlive)
		defer timer.Stop()
		idle = timer.C
	}
	for {
		select {
		case b := <-c.out:
			if err := w.batch(b); err != nil {
				return err
			}
		case <-idle:
			c.armWrite(w.timeout)
			if err := w.write(keepalive); err != nil {
				return fmt.Errorf("write keepalive: %w", err)
			}
			if err := w.bw.Flush(); err != nil {
				return fmt.Errorf("write keepalive: %w", err)
			}
		case req := <-c.stop:
			return w.finish(req)
		}
		if timer != nil {
			timer.Reset(l.cfg.KeepAlive)
		}
	}
}

// batch writes first and whatever else is queued right now, up to
// maxBatch, then flushes once: a burst costs one syscall, a lone stanza
// goes out at once.
func (w *writer) batch(first []byte) error {
	w.c.armWrite(w.timeout)
	n := 1
	err := w.write(first)
fill:
	for err == nil && n < maxBatch {
		select {
		case b := <-w.c.out:
			n++
			err = w.write(b)
		default:
			break fill
		}
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err != nil {
		// What was in the failed batch may or may not have reached the
		// server; count it lost rather than claim it was delivered.
		w.stats.dropped.Add(uint64(n))
		return fmt.Errorf("write: %w", err)
	}
	w.stats.out.Add(uint64(n))
	return nil
}

// write buffers b, re-arming the deadline when b forces a flush so each
// socket write gets a full WriteTimeout.
func (w *writer) write(b []byte) error {
	if len(b) > w.bw.Available() {
		w.c.armWrite(w.timeout)
	}
	_, err := w.bw.Write(b)
	return err
}

// finish ends the stream: queued stanzas (on a graceful close), then the
// tail (a stream error) and </stream:stream>. Its deadline was set by
// finishWrites.
func (w *writer) finish(req closeReq) error {
	n := 0
	var err error
	if req.drain {
	drain:
		for err == nil {
			select {
			case b := <-w.c.out:
				n++
				err = w.write(b)
			default:
				break drain
			}
		}
	}
	if err == nil {
		_, err = w.bw.Write(req.tail)
	}
	if err == nil {
		_, err = w.bw.Write(streamClose)
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err != nil {
		w.stats.dropped.Add(uint64(n))
		return fmt.Errorf("close stream: %w", err)
	}
	w.stats.out.Add(uint64(n))
	return nil
}
