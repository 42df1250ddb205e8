package media

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// Socket indexes of an RTP leg.
const (
	compRTP  = 0
	compRTCP = 1
)

// readBuf is a reader's packet buffer: an Ethernet MTU with room to
// spare; RTP senders packetise below the path MTU.
const readBuf = 2048

// RTPLeg is an RTP/AVP leg: an even port for RTP and the odd one above it
// for RTCP. It serves the SIP side, and XMPP clients using raw UDP
// (XEP-0177). It is plain RTP unless SetSRTP keys it with SDES-SRTP
// (RTP/SAVP).
type RTPLeg struct {
	s     *Session
	side  side
	socks [2]*udpSock // compRTP, compRTCP
	local netip.AddrPort

	// Where we send, per socket: set by SetRemote, replaced by the source
	// of the packets that really arrive (symmetric RTP, RFC 4961), which
	// is what works behind the NATs SIP phones live behind.
	remote  [2]atomic.Pointer[netip.AddrPort]
	latched [2]atomic.Bool // a latch was logged on this socket
	// learnFrom is Relay.now() when the socket's learning window opened
	// (its first packet, or the first after SetRemote); 0: not yet.
	learnFrom [2]atomic.Int64

	// SDES-SRTP keys, nil for plain RTP: loaded by the readers for every
	// packet received and by the other leg's readers for every packet
	// sent; SetSRTP swaps it under keyMu.
	sdes  atomic.Pointer[sdesState]
	keyMu sync.Mutex

	// Owned by the socket's poller while it is served; final once the
	// leg is closed.
	loss     lossTracker
	rx       [2]uint64
	authFail [2]bool // an SRTP authentication failure was logged
	stranger [2]bool // a packet from an unexpected source was logged
}

func (s *Session) newRTPLeg(d side, announce netip.Addr) (*RTPLeg, error) {
	rtp, rtcp, err := s.r.ports.pair()
	if err != nil {
		return nil, err
	}
	return &RTPLeg{
		s:     s,
		side:  d,
		socks: [2]*udpSock{rtp, rtcp},
		local: netip.AddrPortFrom(announce, rtp.port),
	}, nil
}

// Local is the address to announce for this leg (SDP c= and m= port, or
// the raw-UDP candidate): the configured address of its side and the RTP
// port. RTCP is on the port above.
func (l *RTPLeg) Local() netip.AddrPort { return l.local }

// SetRemote sets where to send, from the SDP or the raw-UDP candidates; a
// zero rtcp means rtp's port + 1. Packets arriving from elsewhere move the
// destination there (per socket). Until a destination is known, packets
// for this leg are dropped.
func (l *RTPLeg) SetRemote(rtp, rtcp netip.AddrPort) {
	if !rtp.IsValid() {
		return
	}
	rtp = unmap(rtp)
	if !rtcp.IsValid() {
		rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	rtcp = unmap(rtcp)
	l.remote[compRTP].Store(&rtp)
	l.remote[compRTCP].Store(&rtcp)
	// A new address from signalling (a re-INVITE): learn where its media
	// really comes from again.
	l.learnFrom[compRTP].Store(0)
	l.learnFrom[compRTCP].Store(0)
	l.s.leaveKernel()
}

// start has the session's poller serve both sockets.
func (l *RTPLeg) start() error {
	pl := l.s.r.pollers.forSession(l.s.id)
	for comp, sock := range l.socks {
		sock.leg, sock.comp = l, comp
		sock.slot = int32(int(sock.port) - int(l.s.r.cfg.PortMin))
		if err := pl.add(sock); err != nil {
			return err
		}
	}
	return nil
}

// handle relays one packet that arrived on socket comp, in the poller's
// goroutine and buffer, before the next is read.
func (l *RTPLeg) handle(comp int, pkt []byte, src netip.AddrPort) {
	kind := classify(pkt)
	if kind == kindJunk {
		l.s.r.stats.dropped.Add(1)
		return
	}
	if comp == compRTCP {
		kind = kindRTCP // whatever its second byte says
	}
	if k := l.sdes.Load(); k != nil {
		// Before the latch: a packet that does not authenticate must
		// not steer our media anywhere.
		var ok bool
		if pkt, ok = k.rx.decrypt(comp, pkt, kind == kindRTCP); !ok {
			l.srtpDrop(comp, src)
			return
		}
	}
	if !l.accept(comp, unmap(src)) {
		return
	}
	l.rx[comp]++
	// In the kernel, the kernel tracks loss, whatever still reaches the
	// socket (packets queued before, or from a side it has not heard).
	inKernel := l.s.inKernel[comp].Load()
	var loss *lossTracker
	if comp == compRTP && !inKernel {
		loss = &l.loss
	}
	l.s.relay(l.side, pkt, kind == kindRTCP, loss)
	if !inKernel {
		l.maybeOffload(comp)
	}
}

// srtpDrop counts a packet that failed SRTP authentication or the replay
// check, logging the first of each socket: a wrong key in the SDP shows up
// as silence, and the log should say why.
func (l *RTPLeg) srtpDrop(comp int, src netip.AddrPort) {
	l.s.r.stats.dropped.Add(1)
	if !l.authFail[comp] {
		l.authFail[comp] = true
		l.s.log.Debug("SRTP packet dropped: authentication or replay check failed", "side", l.side, "rtcp", comp == compRTCP, "source", unmap(src))
	}
}

// accept decides whether a packet from src is the peer's: the current
// destination always is; a new source is latched onto during the learning
// window, or at any time on an SRTP leg (the packet authenticated).
// Strangers are dropped and counted.
func (l *RTPLeg) accept(comp int, src netip.AddrPort) bool {
	from := l.learnFrom[comp].Load()
	if from == 0 {
		// The window opens at the first packet, whoever sent it.
		l.learnFrom[comp].CompareAndSwap(0, l.s.r.now())
		from = l.learnFrom[comp].Load()
	}
	if cur := l.remote[comp].Load(); cur != nil && *cur == src {
		return true
	}
	now := l.s.r.now()
	if l.sdes.Load() != nil || now-from <= int64(l.s.r.cfg.LearnWindow) {
		l.latch(comp, src)
		return true
	}
	l.s.r.stats.dropped.Add(1)
	if !l.stranger[comp] {
		l.stranger[comp] = true
		l.s.log.Info("media from an unexpected source dropped (after the learning window)", "side", l.side, "rtcp", comp == compRTCP, "source", src)
	}
	return false
}

// latch makes src the destination of the socket's outgoing packets.
func (l *RTPLeg) latch(comp int, src netip.AddrPort) {
	cur := l.remote[comp].Load()
	if cur != nil && *cur == src {
		return
	}
	// A copy, so that only this rare path allocates: storing &src would
	// move src to the heap on every call.
	dst := src
	l.remote[comp].Store(&dst)
	if !l.latched[comp].Swap(true) {
		// Once per socket: a NATed phone makes this normal, and a source
		// hopping around must not flood the log.
		var was any = "unknown"
		if cur != nil {
			was = *cur
		}
		l.s.log.Debug("latched onto media source", "side", l.side, "rtcp", comp == compRTCP, "announced", was, "source", src)
	}
}

// send writes one packet toward this leg's peer; false if it was not sent.
func (l *RTPLeg) send(pkt []byte, rtcp bool) bool {
	comp := compRTP
	if rtcp {
		comp = compRTCP
	}
	dst := l.remote[comp].Load()
	if dst == nil {
		return false
	}
	if k := l.sdes.Load(); k != nil {
		return k.tx.send(l.socks[comp], pkt, rtcp, *dst)
	}
	return l.socks[comp].sendTo(pkt, *dst)
}

// close stops serving and closes both sockets; it returns once no packet
// of this leg is being handled.
func (l *RTPLeg) close() {
	for _, sock := range l.socks {
		sock.close()
	}
}

func (l *RTPLeg) ports() []uint16 {
	return []uint16{l.local.Port(), l.local.Port() + 1}
}

func unmap(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}
