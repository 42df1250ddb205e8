package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one relayed call: an RTP leg toward SIP, created with the
// session, and one leg toward the XMPP client, raw UDP or ICE + DTLS-SRTP,
// added once the client's transport is known. Packets arriving on one leg
// are written to the other by the reading goroutine itself.
type Session struct {
	r   *Relay
	id  uint64
	log *slog.Logger
	sip *RTPLeg
	// echo, set before any leg reads, makes this an echo session
	// (NewEchoSession); nil for a relayed call.
	echo *echoState

	// The XMPP leg, at most one of the two; set under mu, loaded lock-free
	// by the SIP leg's readers for every packet.
	xmppRaw atomic.Pointer[RTPLeg]
	xmppICE atomic.Pointer[ICELeg]

	// Payload-type renumbering per direction, swapped whole by SetCodecs.
	sipToXMPP, xmppToSIP atomic.Pointer[ptTable]

	// lastRx is Relay.now() at the last packet received on either leg (or
	// at creation): the idle timer reads it instead of being reset per
	// packet.
	lastRx atomic.Int64

	// The kernel fast path (offload.go), per component: inKernel is read
	// lock-free by the poller, the rest is under kmu.
	inKernel   [2]atomic.Bool
	kernFailed atomic.Bool // the kernel refused an entry: stay out
	kmu        sync.Mutex
	kern       [2]kernelComp
	kernDone   bool      // torn down: install nothing more
	kernRx     [2]uint64 // by side: packets the kernel forwarded
	kernLost   [2]int64  // by side: RTP loss the kernel counted

	mu     sync.Mutex
	ending bool
	err    error
	idle   *time.Timer

	wg   sync.WaitGroup // the ICE leg's reader goroutine
	done chan struct{}  // closed when everything is released
}

// side names where a packet came from.
type side uint8

const (
	sideSIP side = iota
	sideXMPP
)

func (d side) String() string {
	if d == sideSIP {
		return "sip"
	}
	return "xmpp"
}

func (r *Relay) newSession() (*Session, error) {
	s := &Session{r: r, done: make(chan struct{})}
	sip, err := s.newRTPLeg(sideSIP, r.cfg.SIPAddr)
	if err != nil {
		return nil, err
	}
	if !r.add(s) {
		sip.close()
		r.ports.release(sip.ports()...)
		return nil, ErrClosed
	}
	s.log = r.log.With("session", s.id)
	s.sip = sip
	s.lastRx.Store(r.now())
	if err := sip.start(); err != nil {
		sip.close()
		r.ports.release(sip.ports()...)
		r.forget(s)
		return nil, err
	}
	s.log.Debug("relay session started", "sip", sip.local)
	return s, nil
}

// ExpectMedia starts the idle clock: from now on, IdleTimeout without a
// packet from either side ends the session with ErrIdle. A call that is
// still ringing carries no media, so the owner calls this once the call is
// answered; later calls do nothing.
func (s *Session) ExpectMedia() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ending || s.idle != nil {
		return
	}
	s.lastRx.Store(s.r.now())
	s.idle = time.AfterFunc(s.r.cfg.IdleTimeout, s.checkIdle)
}

// SIP is the RTP/AVP leg toward the SIP side (RTP/SAVP once SetSRTP keyed
// it).
func (s *Session) SIP() *RTPLeg { return s.sip }

// XMPPRaw returns the raw-UDP leg (XEP-0177) toward the XMPP client,
// binding it on the first call. It fails if the session has an ICE leg or
// has ended.
func (s *Session) XMPPRaw() (*RTPLeg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.xmppRaw.Load(); l != nil {
		return l, nil
	}
	if s.ending {
		return nil, ErrClosed
	}
	if s.xmppICE.Load() != nil {
		return nil, fmt.Errorf("%w: the session already has an ICE leg toward XMPP", ErrBadInput)
	}
	l, err := s.newRTPLeg(sideXMPP, s.r.cfg.XMPPAddr)
	if err != nil {
		return nil, err
	}
	if err := l.start(); err != nil {
		l.close()
		s.r.ports.release(l.ports()...)
		return nil, err
	}
	s.xmppRaw.Store(l)
	s.log.Debug("raw-UDP leg toward XMPP", "local", l.local)
	return l, nil
}

// XMPPICE returns the ICE + DTLS-SRTP leg (one port, rtcp-mux) toward the
// XMPP client, creating it on the first call with the given ICE role; later
// calls return the same leg whatever they ask. It fails if the session has
// a raw-UDP leg or has ended.
func (s *Session) XMPPICE(controlling bool) (*ICELeg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.xmppICE.Load(); l != nil {
		return l, nil
	}
	if s.ending {
		return nil, ErrClosed
	}
	if s.xmppRaw.Load() != nil {
		return nil, fmt.Errorf("%w: the session already has a raw-UDP leg toward XMPP", ErrBadInput)
	}
	l, err := s.newICELeg(controlling)
	if err != nil {
		return nil, err
	}
	s.xmppICE.Store(l)
	l.start()
	s.log.Debug("ICE leg toward XMPP", "port", l.port, "controlling", controlling)
	return l, nil
}

// SetCodecs gives both sides' payload types so the relay can renumber
// between them (say telephone-event 101 on SIP, 126 on XMPP). It may be
// called again at any time, e.g. after a re-INVITE; the next packet uses
// the new numbers.
func (s *Session) SetCodecs(sip, xmpp []Codec) {
	s.sipToXMPP.Store(newPTTable(sip, xmpp))
	s.xmppToSIP.Store(newPTTable(xmpp, sip))
	// The kernel's entries have the old numbers: out, and back in with
	// the new ones at the next packet.
	s.leaveKernel()
}

// Done is closed when the session has ended and released everything:
// Close, idle media, ICE or DTLS failure, Relay.Close.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is nil while the session runs, then why it ended: ErrClosed, ErrIdle
// or an error wrapping ErrDTLS.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the session if it is running and returns once its sockets are
// closed, its ports released and its goroutines gone. It is idempotent.
func (s *Session) Close() {
	s.end(ErrClosed, nil)
	<-s.done
}

// end starts the session's teardown unless it already began; count, if
// not nil, is bumped for the winning cause only and before Done closes, so
// a caller that saw Done reads consistent Stats. It does not wait: readers
// call it and the teardown waits for them.
func (s *Session) end(cause error, count *atomic.Uint64) {
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		return
	}
	s.ending = true
	s.err = cause
	if s.idle != nil {
		s.idle.Stop()
	}
	s.mu.Unlock()
	if count != nil {
		count.Add(1)
	}
	go s.teardown()
}

// teardown runs once, after end: no leg can be added any more.
func (s *Session) teardown() {
	raw, ice := s.xmppRaw.Load(), s.xmppICE.Load()
	s.kmu.Lock()
	s.kernDone = true
	s.leaveKernelLocked()
	s.kmu.Unlock()
	// Closing the sockets stops their pollers' work on them and unblocks
	// the ICE leg's reader.
	s.sip.close()
	if raw != nil {
		raw.close()
	}
	if ice != nil {
		ice.close()
	}
	s.wg.Wait()
	if ice != nil {
		ice.countSRTPDrops()
	}

	ports := s.sip.ports()
	if raw != nil {
		ports = append(ports, raw.ports()...)
	}
	if ice != nil {
		ports = append(ports, ice.port)
	}
	s.r.ports.release(ports...)
	s.r.remove(s)

	attrs := []any{"reason", s.err,
		"lost_from_sip", s.sip.loss.lost + s.kernLost[sideSIP], "packets_from_sip", s.sip.rx[0] + s.sip.rx[1] + s.kernRx[sideSIP]}
	switch {
	case raw != nil:
		attrs = append(attrs, "lost_from_xmpp", raw.loss.lost+s.kernLost[sideXMPP], "packets_from_xmpp", raw.rx[0]+raw.rx[1]+s.kernRx[sideXMPP])
	case ice != nil:
		attrs = append(attrs, "lost_from_xmpp", ice.loss.lost, "packets_from_xmpp", ice.rx)
	}
	level := slog.LevelDebug
	if !errors.Is(s.err, ErrClosed) {
		level = slog.LevelInfo // idle media or a failed handshake is worth a line
	}
	s.log.Log(context.Background(), level, "relay session ended", attrs...)
	close(s.done)
}
