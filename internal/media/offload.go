package media

// A call enters the kernel fast path (kernel_linux.go) one component (RTP,
// RTCP) at a time, from the poller that serves its sockets, once the
// relay has nothing left to do to its packets but forward them and
// renumber a few payload types: both sides plain RTP (no SDES-SRTP, no
// ICE) and both peers latched with their learning windows over. It
// leaves the kernel when any of that changes (a re-INVITE's new address
// or codecs, SRTP keys) and when the session ends; the packets
// then reach the sockets again and the relay carries on where the kernel
// stopped. The kernel's counters reach the relay's on every Stats, idle
// check and exit.

// kernelComp is one component of a session in the kernel.
type kernelComp struct {
	on   bool
	keys [2]kernelKey   // by side: the entry of that side's peer's packets
	seen [2]kernelEntry // by side: what the relay's counters already have
}

// maybeOffload runs after the poller relayed a packet of comp.
func (l *RTPLeg) maybeOffload(comp int) {
	s := l.s
	if s.r.kernel == nil || s.echo != nil || s.inKernel[comp].Load() || s.kernFailed.Load() {
		return
	}
	if s.kernelReady(comp) {
		s.offload(comp)
	}
}

// kernelReady tells whether the kernel can do all comp's packets need:
// forwarding and a few payload type renumberings.
func (s *Session) kernelReady(comp int) bool {
	raw := s.xmppRaw.Load()
	if raw == nil || s.sip.sdes.Load() != nil || raw.sdes.Load() != nil {
		return false
	}
	now := s.r.now()
	if !s.sip.settled(comp, now) || !raw.settled(comp, now) {
		return false
	}
	_, ok := s.kernelPT()
	return ok
}

// kernelPT is the renumbering of packets from SIP and from XMPP.
func (s *Session) kernelPT() ([2]ptPairs, bool) {
	fromSIP, ok1 := s.sipToXMPP.Load().pairs()
	fromXMPP, ok2 := s.xmppToSIP.Load().pairs()
	return [2]ptPairs{sideSIP: fromSIP, sideXMPP: fromXMPP}, ok1 && ok2
}

// settled: the peer of socket comp sent media, and the learning window in
// which it could move is over.
func (l *RTPLeg) settled(comp int, now int64) bool {
	from := l.learnFrom[comp].Load()
	return from != 0 && now-from > int64(l.s.r.cfg.LearnWindow) && l.remote[comp].Load() != nil
}

// offload installs comp's two entries. It runs in the session's poller,
// which owns both legs' loss trackers.
func (s *Session) offload(comp int) {
	s.kmu.Lock()
	defer s.kmu.Unlock()
	// Again under kmu: a re-INVITE that changed things takes kmu after
	// its change to leave the kernel, so either it sees this install or
	// this sees its change.
	if s.kernDone || s.kern[comp].on || !s.kernelReady(comp) {
		return
	}
	raw := s.xmppRaw.Load()
	keys := [2]kernelKey{
		sideSIP:  keyOf(*s.sip.remote[comp].Load(), s.sip.socks[comp].port),
		sideXMPP: keyOf(*raw.remote[comp].Load(), raw.socks[comp].port),
	}
	var pt *[2]ptPairs
	if comp == compRTP {
		p, _ := s.kernelPT()
		pt = &p
	}
	if err := s.r.kernel.install(keys[sideSIP], keys[sideXMPP], pt); err != nil {
		s.kernFailed.Store(true)
		s.log.Warn("call stays relayed in the process", "err", err)
		return
	}
	if comp == compRTP {
		// The kernel tracks loss from here on. Should the call come back,
		// the trackers start afresh instead of counting what the kernel
		// forwarded as lost.
		s.sip.loss.started, raw.loss.started = false, false
	}
	if !s.kern[1-comp].on {
		s.r.stats.kernelSessions.Add(1)
	}
	s.kern[comp] = kernelComp{on: true, keys: keys}
	s.inKernel[comp].Store(true)
	s.log.Debug("media forwarded in the kernel", "rtcp", comp == compRTCP)
}

// leaveKernel takes the session out of the kernel; the next offload needs
// its peers to settle again.
func (s *Session) leaveKernel() {
	s.kmu.Lock()
	defer s.kmu.Unlock()
	s.leaveKernelLocked()
}

func (s *Session) leaveKernelLocked() {
	for comp := range s.kern {
		kc := &s.kern[comp]
		if !kc.on {
			continue
		}
		s.applyEntries(comp, s.r.kernel.take)
		kc.on = false
		s.inKernel[comp].Store(false)
		if !s.kern[1-comp].on {
			s.r.stats.kernelSessions.Add(-1)
		}
	}
}

// syncKernel brings the kernel's counts into the relay's.
func (s *Session) syncKernel() {
	if !s.inKernel[compRTP].Load() && !s.inKernel[compRTCP].Load() {
		return
	}
	s.kmu.Lock()
	defer s.kmu.Unlock()
	for comp := range s.kern {
		if s.kern[comp].on {
			s.applyEntries(comp, s.r.kernel.read)
		}
	}
}

// applyEntries applies comp's two entries as get returns them; under kmu.
func (s *Session) applyEntries(comp int, get func(kernelKey) (kernelEntry, bool)) {
	for d, key := range s.kern[comp].keys {
		if e, ok := get(key); ok {
			s.applyKernel(comp, side(d), e)
		}
	}
}

// applyKernel adds what an entry counted since it was last read; under
// kmu.
func (s *Session) applyKernel(comp int, from side, e kernelEntry) {
	seen := &s.kern[comp].seen[from]
	st := &s.r.stats
	if n := e.packets - seen.packets; n > 0 {
		st.packets.Add(n)
		st.kernelPackets.Add(n)
		st.bytes.Add(e.bytes - seen.bytes)
		s.kernRx[from] += n
	}
	if d := e.lost - seen.lost; d != 0 {
		st.addLost(d)
		s.kernLost[from] += d
	}
	if e.lastNs > seen.lastNs {
		t := s.r.kernel.relayTime(e.lastNs)
		for {
			cur := s.lastRx.Load()
			if t <= cur || s.lastRx.CompareAndSwap(cur, t) {
				break
			}
		}
	}
	*seen = e
}

// syncKernel brings every session's kernel counts into the relay's.
func (r *Relay) syncKernel() {
	r.mu.Lock()
	var in []*Session
	for s := range r.sessions {
		if s.inKernel[compRTP].Load() || s.inKernel[compRTCP].Load() {
			in = append(in, s)
		}
	}
	r.mu.Unlock()
	for _, s := range in {
		s.syncKernel()
	}
}
