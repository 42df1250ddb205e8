package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Pacing: every endpoint sends one packet per period; the endpoints are
// spread over slots one millisecond apart so that the load is smooth, as
// independent phones' would be, instead of a burst every 20 ms.
const (
	period         = 20 * time.Millisecond
	slotsPerPeriod = 20
	slot           = period / slotsPerPeriod
)

// clock is the run's time base: Unix nanoseconds, stamped into packets by
// the senders and compared with the kernel's receive timestamps
// (SO_TIMESTAMPNS is CLOCK_REALTIME). A run lasts a minute or so, so a
// wall-clock step during it is unlikely; it would show as a latency
// outlier, not as loss.
type clock struct{}

func (clock) now() int64 { return time.Now().UnixNano() }

// sender paces its share of the endpoints from t0 until end.
type sender struct {
	slots [slotsPerPeriod][]*endpoint
	buf   [pktSize]byte
}

func newSenders(eps []*endpoint, n int) []*sender {
	ss := make([]*sender, n)
	for i := range ss {
		ss[i] = &sender{}
		for j := range ss[i].buf {
			ss[i].buf[j] = 0xff // μ-law silence
		}
	}
	for i, e := range eps {
		s := ss[i%n]
		k := (i / n) % slotsPerPeriod
		s.slots[k] = append(s.slots[k], e)
	}
	return ss
}

func (s *sender) run(c clock, t0, winStart, winEnd int64, stop *atomic.Bool) {
	for k := int64(0); !stop.Load(); k++ {
		due := t0 + k*int64(slot)
		if due >= winEnd {
			return
		}
		if d := due - c.now(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		// A sender that fell behind catches up without sleeping, so the
		// rate holds; each packet carries its real send time.
		for _, e := range s.slots[k%slotsPerPeriod] {
			now := c.now()
			e.send(s.buf[:], now, now >= winStart && now < winEnd)
		}
	}
}

// receiver reads its share of the endpoints through its own epoll set
// (level-triggered, one read per readiness: at 50 packets/s a socket
// rarely holds two packets, so draining to EAGAIN would double the reads).
//
// After each sweep it sleeps for interval, so that one wake-up reads every
// packet that arrived meanwhile instead of one wake-up per packet. Latency
// is unaffected (the kernel stamped each packet on arrival), and the
// relay's sends do not pay for waking a receiver blocked in epoll_wait, a
// cost that real phones on other machines would not put on it either.
type receiver struct {
	epfd     int
	eps      []*endpoint
	interval time.Duration
	hist     histogram
	errs     uint64
	noStamp  uint64 // packets without a kernel timestamp (read time used)
}

func newReceivers(eps []*endpoint, n int, interval time.Duration) ([]*receiver, error) {
	rs := make([]*receiver, 0, n)
	for i := 0; i < n; i++ {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			closeReceivers(rs)
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		rs = append(rs, &receiver{epfd: epfd, interval: interval})
	}
	for i, e := range eps {
		r := rs[i%n]
		// The event's data carries the endpoint's index in r.eps, not
		// its descriptor: the lookup on wake-up is then a slice index.
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(len(r.eps))}
		if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, e.fd, &ev); err != nil {
			closeReceivers(rs)
			return nil, fmt.Errorf("epoll_ctl: %w", err)
		}
		r.eps = append(r.eps, e)
	}
	return rs, nil
}

func closeReceivers(rs []*receiver) {
	for _, r := range rs {
		_ = syscall.Close(r.epfd)
	}
}

func (r *receiver) run(c clock, winStart, winEnd int64, stop *atomic.Bool) {
	var events [512]syscall.EpollEvent
	msg := newRxMsg()
	for !stop.Load() {
		// A short timeout only so that stop is noticed; under load
		// epoll_wait returns long before it.
		n, err := syscall.EpollWait(r.epfd, events[:], 50)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			r.errs++
			time.Sleep(time.Millisecond)
			continue
		}
		for i := 0; i < n; i++ {
			e := r.eps[events[i].Fd]
			pkt, at, err := msg.recv(e.fd)
			if err != nil {
				// EAGAIN (nothing after all) or ECONNREFUSED (an ICMP
				// error from an earlier send): nothing to count.
				continue
			}
			if at == 0 {
				at = c.now()
				r.noStamp++
			}
			if lat, ok := e.receive(pkt, at, winStart, winEnd); ok {
				r.hist.add(lat)
			}
		}
		if n > 0 && r.interval > 0 {
			time.Sleep(r.interval)
		}
	}
}

// runLoad sends from every endpoint from t0 until winEnd, receives until
// drain after winEnd, and returns when every goroutine is done. sample is
// called at winStart and at winEnd (from the calling goroutine) so the
// target's CPU is read exactly over the window. Cancelling ctx stops the
// load at once and returns its error.
func runLoad(ctx context.Context, c clock, eps []*endpoint, p loadParams, t0, winStart, winEnd int64, drain time.Duration, sample func(atEnd bool)) ([]*receiver, error) {
	rs, err := newReceivers(eps, p.Receivers, p.RxInterval)
	if err != nil {
		return nil, err
	}
	defer closeReceivers(rs)
	var stopSend, stopRecv atomic.Bool
	var recvWG, sendWG sync.WaitGroup
	for _, r := range rs {
		recvWG.Go(func() { r.run(c, winStart, winEnd, &stopRecv) })
	}
	for _, s := range newSenders(eps, p.Senders) {
		sendWG.Go(func() { s.run(c, t0, winStart, winEnd, &stopSend) })
	}
	err = sleepUntil(ctx, c, winStart)
	if err == nil {
		sample(false)
		if err = sleepUntil(ctx, c, winEnd); err == nil {
			sample(true)
		}
	}
	stopSend.Store(err != nil)
	sendWG.Wait()
	if err == nil {
		time.Sleep(drain)
	}
	stopRecv.Store(true)
	recvWG.Wait()
	return rs, err
}

func sleepUntil(ctx context.Context, c clock, t int64) error {
	d := t - c.now()
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(time.Duration(d))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
