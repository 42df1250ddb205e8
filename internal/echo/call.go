package echo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/sip"
)

// hangupTimeout bounds our BYE.
const hangupTimeout = 5 * time.Second

// maxWarning keeps a Warning naming a long offer within reason.
const maxWarning = 200

// call is one answered INVITE: its RTP and RTCP sockets and the echo
// loop. Its goroutines (run, echo, drainRTCP) end, and its sockets close,
// whichever way the call ends.
type call struct {
	s        *Service
	ic       *sip.IncomingCall
	log      *slog.Logger
	rtp      *net.UDPConn
	rtcp     *net.UDPConn
	sending  atomic.Bool   // the negotiated direction lets us send
	clock    atomic.Uint32 // RTP clock rate of the answered codec
	answerMu sync.Mutex    // orders offers; guards origin
	origin   origin
}

// incoming is the UA's hook for a new INVITE to our user. It runs on a SIP
// goroutine, so it only decides and opens sockets; answering (which waits
// for the ACK) happens on the call's own goroutine.
func (s *Service) incoming(ic *sip.IncomingCall) sip.CallHandler {
	from, _ := ic.From()
	log := s.log.With("sip_call_id", ic.CallID(), "from", from)
	if ic.Offer() == nil {
		return s.refuse(ic, log, 488, "Not Acceptable Here", "an INVITE without SDP offer is not supported")
	}
	p, err := negotiate(ic.Offer())
	if err != nil {
		return s.refuse(ic, log, 488, "Not Acceptable Here", err.Error())
	}
	rtp, rtcp, err := listenPair(s.bindIP)
	if err != nil {
		log.Warn("SIP echo: no RTP port", "err", err)
		return s.refuse(ic, log, 503, "Service Unavailable", "no RTP port free")
	}
	c := &call{s: s, ic: ic, log: log, rtp: rtp, rtcp: rtcp, origin: origin{id: rand.Uint64N(1 << 62)}}
	c.apply(p)
	answer := p.answer(&c.origin, s.sdpIP, c.port())
	if !s.track() {
		c.closeSockets()
		return s.refuse(ic, log, 503, "Service Unavailable", "echo is stopping")
	}
	s.active.Add(1)
	if err := ic.Ring(); err != nil {
		log.Debug("180 not sent", "err", err)
	}
	log.Info("SIP echo call", "codec", p.codec.rtpmap, "rtp_port", c.port())
	go c.run(answer)
	return c
}

// refuse rejects the INVITE. It returns a handler all the same: nil would
// make the UA try a 480 on top of our answer.
func (s *Service) refuse(ic *sip.IncomingCall, log *slog.Logger, code int, reason, warning string) sip.CallHandler {
	s.refused.Add(1)
	if len(warning) > maxWarning {
		warning = warning[:maxWarning] + "…"
	}
	log.Info("SIP echo call refused", "status", code, "why", warning)
	if err := ic.Reject(code, reason, warning, 0); err != nil {
		log.Debug("refusal not sent", "err", err)
	}
	return refused{}
}

type refused struct{}

func (refused) CallEvent(*sip.Call, sip.Event) {}
func (refused) Offer(context.Context, *sip.Call, []byte) ([]byte, error) {
	return nil, &sip.StatusError{Code: 481, Reason: "Call/Transaction Does Not Exist"}
}

func (c *call) port() int { return c.rtp.LocalAddr().(*net.UDPAddr).Port }

// apply makes a negotiated plan the call's media state.
func (c *call) apply(p plan) {
	c.sending.Store(p.sendOK)
	rate, err := strconv.ParseUint(p.codec.clock(), 10, 32)
	if err != nil || rate == 0 {
		rate = 8000
	}
	c.clock.Store(uint32(rate))
}

// run answers, echoes until the call ends (BYE either way, maximum
// duration, service stop) and releases everything.
func (c *call) run(answer []byte) {
	s := c.s
	defer s.calls.Done()
	defer s.active.Add(-1)
	var loops sync.WaitGroup
	loops.Go(c.echo)
	loops.Go(c.drainRTCP)
	defer loops.Wait()
	defer c.closeSockets()
	if err := c.ic.Answer(s.callCtx, answer); err != nil {
		if errors.Is(err, context.Canceled) {
			c.hangup("echo service stopping") // our 200 is out; the call must still end
			return
		}
		c.log.Info("SIP echo call not answered", "err", err)
		return
	}
	s.answered.Add(1)
	limit := time.NewTimer(s.cfg.MaxCall)
	defer limit.Stop()
	select {
	case <-c.ic.Done():
		c.log.Info("SIP echo call ended")
	case <-limit.C:
		c.hangup("maximum call duration reached")
	case <-s.callCtx.Done():
		c.hangup("echo service stopping")
	}
}

// hangup sends our BYE with the reason as an RFC 3326 Reason text.
func (c *call) hangup(why string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	reason := fmt.Sprintf("SIP;cause=200;text=%q", why)
	if err := c.ic.Hangup(ctx, reason); err != nil {
		c.log.Debug("BYE failed", "err", err)
	}
	c.log.Info("SIP echo call hung up", "why", why)
}

func (c *call) closeSockets() {
	_ = c.rtp.Close()
	_ = c.rtcp.Close()
}

// echo sends every RTP packet back where it came from (symmetric RTP: the
// caller's real address, whatever its SDP said behind NAT), unless the
// caller holds the call.
func (c *call) echo() {
	buf := make([]byte, 1500)
	w := newRewriter()
	for {
		n, from, err := c.rtp.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || !looksLikeRTP(buf[:n]) || !c.sending.Load() {
			continue
		}
		w.rewrite(buf[:n], c.clock.Load(), time.Now())
		if _, err := c.rtp.WriteToUDPAddrPort(buf[:n], from); err != nil {
			c.log.Debug("RTP not echoed", "err", err)
			continue
		}
		c.s.echoed.Add(1)
	}
}

// drainRTCP reads and drops RTCP: the echo sends none (it is optional
// for a two-party call and the caller's own reports describe its stream).
func (c *call) drainRTCP() {
	buf := make([]byte, 1500)
	for {
		if _, _, err := c.rtcp.ReadFromUDPAddrPort(buf); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// CallEvent logs the call's events; its end is seen on Done.
func (c *call) CallEvent(_ *sip.Call, e sip.Event) {
	c.log.Debug("SIP echo call event", "event", e.Kind.String(), "status", e.Status, "reason", e.Reason)
}

// Offer answers a re-INVITE or UPDATE: hold (sendonly → recvonly,
// inactive → inactive) stops the echo until the caller resumes; the codec
// may change; the port stays.
func (c *call) Offer(_ context.Context, _ *sip.Call, offer []byte) ([]byte, error) {
	p, err := negotiate(offer)
	if err != nil {
		return nil, &sip.StatusError{Code: 488, Reason: "Not Acceptable Here", Detail: err.Error()}
	}
	c.answerMu.Lock()
	defer c.answerMu.Unlock()
	c.apply(p)
	c.log.Info("SIP echo call updated", "codec", p.codec.rtpmap, "direction", p.dir)
	return p.answer(&c.origin, c.s.sdpIP, c.port()), nil
}
