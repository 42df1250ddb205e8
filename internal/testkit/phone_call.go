package testkit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/jinglesdp"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit/webrtcpeer"
)

// States of a PhoneCall (PhoneCall.State).
const (
	PhoneProposing = "proposing" // outgoing JMI: propose sent, no proceed yet
	PhoneProposed  = "proposed"  // incoming JMI: propose received, not proceeded
	PhoneProceeded = "proceeded" // JMI proceed sent or received, no session-initiate yet
	PhonePending   = "pending"   // session-initiate sent or received, no session-accept
	PhoneActive    = "active"    // session-accept sent or received
	PhoneEnded     = "ended"

	phoneNew = "new" // outgoing direct call before its session-initiate
)

// PhoneCall is one call of a Phone, incoming or outgoing. Its methods are
// safe for concurrent use.
type PhoneCall struct {
	p        *Phone
	sid      string
	outgoing bool
	jmi      bool           // began with a JMI propose
	to       string         // outgoing: where the propose or session-initiate went
	local    netip.AddrPort // outgoing: the media address of the session-initiate

	// guarded by p.mu
	state       string
	peer        string
	contentName string
	offer       *jingle.Jingle
	answer      *jingle.Jingle
	remote      netip.AddrPort
	codec       jingle.PayloadType
	hasCodec    bool
	ringing     bool
	accepted    bool
	infos       []jingle.Element
	reason      *jingle.Reason
	endedHere   bool
	endErr      *stanza.Error

	// WebRTC mode only, guarded by p.mu too
	rtc      *webrtcpeer.Peer       // the call's media, once offered or answered
	localSDP *jinglesdp.Media       // outgoing: our offer, which the answer must mirror
	early    []webrtcpeer.Candidate // remote candidates that came before rtc existed
	trickled []jingle.Candidate     // remote candidates received in transport-info
}

// PhoneEndedError is what a PhoneCall wait or action returns when the call
// has ended.
type PhoneEndedError struct {
	SID    string
	Reason *jingle.Reason // as received, or as sent when this phone ended the call; nil if none
	Local  bool           // this phone ended the call
	Err    *stanza.Error  // the stanza error that ended it (a bounced propose, an iq error), if any
}

func (e *PhoneEndedError) Error() string {
	var b strings.Builder
	b.WriteString("call " + e.SID + " ended")
	if e.Local {
		b.WriteString(" by this phone")
	}
	if e.Reason != nil {
		b.WriteString(": " + string(e.Reason.Condition))
		if e.Reason.Text != "" {
			b.WriteString(" (" + e.Reason.Text + ")")
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *PhoneEndedError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// SID is the Jingle session id (= the JMI id).
func (c *PhoneCall) SID() string { return c.sid }

// Peer is the other side's full JID once known ("" for an outgoing JMI call
// before proceed).
func (c *PhoneCall) Peer() string {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.peer
}

// State is one of PhoneProposing, PhoneProposed, PhoneProceeded,
// PhonePending, PhoneActive, PhoneEnded.
func (c *PhoneCall) State() string {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.state == phoneNew {
		return PhonePending
	}
	return c.state
}

// Offer is the session-initiate received (incoming) or sent (outgoing), or
// nil before it. Do not modify it.
func (c *PhoneCall) Offer() *jingle.Jingle {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.offer
}

// Answer is the session-accept received (outgoing) or sent (incoming), or
// nil before it. Do not modify it.
func (c *PhoneCall) Answer() *jingle.Jingle {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.answer
}

// Remote is the other side's RTP address: its component-1 candidate in the
// session-initiate (incoming) or session-accept (outgoing), updated by
// transport-info. A raw-UDP candidate is meant; from an ICE-UDP transport
// the first component-1 candidate of the highest generation is taken as it
// is (no connectivity checks).
func (c *PhoneCall) Remote() (netip.AddrPort, bool) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.remote, c.remote.IsValid()
}

// Codec is the first payload type of the session-accept: received
// (outgoing) or sent (incoming).
func (c *PhoneCall) Codec() (jingle.PayloadType, bool) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.codec, c.hasCodec
}

// endedErrLocked describes how the call ended.
func (c *PhoneCall) endedErrLocked() error {
	return &PhoneEndedError{SID: c.sid, Reason: c.reason, Local: c.endedHere, Err: c.endErr}
}

// endLocked ends the call once; p.mu is held.
func (c *PhoneCall) endLocked(r *jingle.Reason, here bool, serr *stanza.Error) {
	if c.state == PhoneEnded {
		return
	}
	c.state, c.reason, c.endedHere, c.endErr = PhoneEnded, r, here, serr
	c.p.logf("call %s ended (local %v): %+v %v", c.sid, here, r, serr)
	if c.rtc != nil {
		// On a goroutine of its own: p.mu is held here, maybe on the
		// reader goroutine, and Close waits for pion's goroutines. Media
		// stays readable after.
		go c.rtc.Close()
	}
	c.p.changedLocked()
}

// endFailed ends a call whose setup failed: by the peer's stanza error, or
// here (nil: a write failed or no answer came).
func (c *PhoneCall) endFailed(serr *stanza.Error) {
	c.p.mu.Lock()
	c.endLocked(nil, serr == nil, serr)
	c.p.mu.Unlock()
}

// inStateLocked is nil if the call is in one of states, else why not.
func (c *PhoneCall) inStateLocked(action string, states ...string) error {
	if c.state == PhoneEnded {
		return fmt.Errorf("%s: %w", action, c.endedErrLocked())
	}
	if !slices.Contains(states, c.state) {
		return fmt.Errorf("%s: call %s is %s, not %s", action, c.sid, c.state, strings.Join(states, " or "))
	}
	return nil
}

// until waits for cond (run under the phone's lock); it fails with a
// *PhoneEndedError if the call ends before cond holds.
func (c *PhoneCall) until(ctx context.Context, what string, cond func() bool) error {
	return c.p.wait(ctx, what+" on call "+c.sid, func() (bool, error) {
		if cond() {
			return true, nil
		}
		if c.state == PhoneEnded {
			return true, c.endedErrLocked()
		}
		return false, nil
	})
}

// WaitRinging waits for session-info <ringing/> or JMI <ringing/>.
func (c *PhoneCall) WaitRinging(ctx context.Context) error {
	return c.until(ctx, "ringing", func() bool { return c.ringing })
}

// WaitAccepted waits for the session-accept (outgoing calls; an incoming
// call is accepted once Accept sent it).
func (c *PhoneCall) WaitAccepted(ctx context.Context) error {
	return c.until(ctx, "session-accept", func() bool { return c.accepted })
}

// WaitSessionInitiate waits for the session-initiate of an incoming call
// (after Proceed).
func (c *PhoneCall) WaitSessionInitiate(ctx context.Context) error {
	return c.until(ctx, "session-initiate", func() bool { return c.offer != nil })
}

// WaitEnded waits for the end of the call: session-terminate, JMI retract,
// reject or finish received, or ended by this phone. It returns the reason
// received (or sent), nil if there was none; an error only if ctx or the
// stream ended first.
func (c *PhoneCall) WaitEnded(ctx context.Context) (*jingle.Reason, error) {
	var r *jingle.Reason
	err := c.p.wait(ctx, "the end of call "+c.sid, func() (bool, error) {
		r = c.reason
		return c.state == PhoneEnded, nil
	})
	return r, err
}

// WaitInfo waits for a session-info payload (ringing, hold, unhold, active,
// mute, dtmf, …) for which match is true (nil matches all), and consumes
// it. A content-modify is reported as an element named content-modify in
// the Jingle namespace with the content's name and senders attributes;
// other actions the phone does not act on (content-add, transport-replace,
// description-info, …) as an attribute-less element named after the
// action. Payloads received before the call count. match runs under the
// phone's lock: it must not call the phone.
func (c *PhoneCall) WaitInfo(ctx context.Context, match func(jingle.Element) bool) (jingle.Element, error) {
	var got jingle.Element
	err := c.p.wait(ctx, "session-info on call "+c.sid, func() (bool, error) {
		for i, e := range c.infos {
			if match == nil || match(e) {
				got = e
				c.infos = slices.Delete(c.infos, i, i+1)
				return true, nil
			}
		}
		if c.state == PhoneEnded {
			return true, c.endedErrLocked()
		}
		return false, nil
	})
	return got, err
}

// Initiate continues a call made by Propose: it waits for the proceed, then
// sends the session-initiate to the full JID that sent it and waits for its
// result. See Call.
func (c *PhoneCall) Initiate(ctx context.Context) error {
	if err := c.until(ctx, "proceed", func() bool { return c.state != PhoneProposing }); err != nil {
		return err
	}
	return c.initiate(ctx)
}

// initiate sends the session-initiate of an outgoing call; in WebRTC mode
// its candidates follow in transport-infos once it got its result.
func (c *PhoneCall) initiate(ctx context.Context) error {
	p := c.p
	var j *jingle.Jingle
	var rtc *webrtcpeer.Peer
	var local *jinglesdp.Media
	if p.o.WebRTC {
		var err error
		if j, rtc, local, err = p.webrtcOffer(c.sid); err != nil {
			c.endFailed(nil)
			return fmt.Errorf("session-initiate: %w", err)
		}
	} else {
		desc := jingle.NewDescription("audio")
		desc.PayloadTypes = slices.Clone(p.o.Codecs)
		j = &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: c.sid, Initiator: p.c.JID(),
			Contents: []jingle.Content{{Creator: jingle.RoleInitiator, Name: c.contentName, Senders: jingle.SendersBoth,
				Description: desc, Transport: p.localTransport(c.local)}}}
	}
	p.mu.Lock()
	if err := c.inStateLocked("session-initiate", phoneNew, PhoneProceeded); err != nil || !c.outgoing {
		p.mu.Unlock()
		if rtc != nil {
			rtc.Close()
		}
		if err == nil {
			err = fmt.Errorf("session-initiate: call %s is incoming", c.sid)
		}
		return err
	}
	c.state, c.offer = PhonePending, j
	if rtc != nil {
		c.rtc, c.localSDP, c.contentName = rtc, local, j.Contents[0].Name
	}
	peer := c.peer
	p.changedLocked()
	p.mu.Unlock()
	if err := p.sendJingle(ctx, peer, j); err != nil {
		var serr *stanza.Error
		errors.As(err, &serr)
		c.endFailed(serr)
		return err
	}
	if rtc != nil {
		c.trickle(rtc, peer, j.Contents[0])
	}
	return nil
}

// Proceed accepts a JMI proposal: <proceed/> to the proposer's full JID.
// The session-initiate follows (WaitSessionInitiate).
func (c *PhoneCall) Proceed(ctx context.Context) error {
	p := c.p
	p.mu.Lock()
	if err := c.inStateLocked("proceed", PhoneProposed); err != nil {
		p.mu.Unlock()
		return err
	}
	c.state = PhoneProceeded
	peer := c.peer
	p.changedLocked()
	p.mu.Unlock()
	return p.sendJMI(ctx, peer, "", jingle.NewJMI(jingle.JMIProceed, c.sid))
}

// Reject declines the call with cond: a JMI <reject/> before any
// session-initiate, else session-terminate (see Hangup).
func (c *PhoneCall) Reject(ctx context.Context, cond jingle.Condition) error {
	return c.terminate(ctx, jingle.NewReason(cond, ""))
}

// Hangup ends the call with cond and text: session-terminate, waiting for
// its result; before any session-initiate, a JMI <retract/> (outgoing) or
// <reject/> (incoming) instead. The call is ended at once, whatever the
// peer answers.
func (c *PhoneCall) Hangup(ctx context.Context, cond jingle.Condition, text string) error {
	return c.terminate(ctx, jingle.NewReason(cond, text))
}

func (c *PhoneCall) terminate(ctx context.Context, r *jingle.Reason) error {
	p := c.p
	p.mu.Lock()
	if c.state == PhoneEnded {
		err := c.endedErrLocked()
		p.mu.Unlock()
		return err
	}
	state, peer := c.state, c.peer
	c.endLocked(r, true, nil)
	p.mu.Unlock()
	switch {
	case state == phoneNew:
		return nil
	case c.outgoing && (state == PhoneProposing || state == PhoneProceeded):
		m := jingle.NewJMI(jingle.JMIRetract, c.sid)
		m.Reason = r
		return p.sendJMI(ctx, c.to, "", m)
	case !c.outgoing && (state == PhoneProposed || state == PhoneProceeded):
		m := jingle.NewJMI(jingle.JMIReject, c.sid)
		m.Reason = r
		return p.sendJMI(ctx, peer, "", m)
	}
	return p.sendJingle(ctx, peer, &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: c.sid, Reason: r})
}

// Accept answers an incoming session-initiate with session-accept: the
// first offered codec the phone supports (plus telephone-event at the same
// clock rate if offered and among the phone's codecs) and a raw-UDP
// candidate at local. It fails without sending anything if the offer's
// transport is not raw-UDP or no codec matches. It waits for the result.
//
// In WebRTC mode local is ignored: the answer is the media stack's (ICE-UDP
// with a fingerprint, setup active, no candidate), the candidates follow
// in transport-infos after the result, and an offer the media stack
// refuses (no common codec, no rtcp-mux) ends the call with
// session-terminate <failed-application/>, as Conversations does.
func (c *PhoneCall) Accept(ctx context.Context, local netip.AddrPort) error {
	p := c.p
	if p.o.WebRTC {
		return c.acceptWebRTC(ctx)
	}
	if !local.IsValid() {
		return fmt.Errorf("accept: invalid local media address %v", local)
	}
	p.mu.Lock()
	if err := c.inStateLocked("accept", PhonePending); err != nil || c.outgoing {
		p.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("accept: call %s is outgoing", c.sid)
		}
		return err
	}
	content := phoneMediaContent(c.offer, c.contentName)
	var pts []jingle.PayloadType
	err := fmt.Errorf("accept: call %s offers no RTP audio content", c.sid)
	if content != nil && content.Description.IsRTP() {
		pts, err = phoneAnswerCodecs(content.Description.PayloadTypes, p.o.Codecs)
	}
	if err == nil && !content.Transport.IsRawUDP() {
		err = fmt.Errorf("accept: call %s offers transport %v, not raw-UDP", c.sid, content.Transport)
	}
	if err != nil {
		p.mu.Unlock()
		return err
	}
	desc := jingle.NewDescription(content.Description.Media)
	desc.PayloadTypes = pts
	creator := content.Creator
	if creator == "" {
		creator = jingle.RoleInitiator
	}
	tr := jingle.NewTransport(jingle.NSRawUDP)
	tr.Candidates = []jingle.Candidate{phoneCandidate(local)}
	j := &jingle.Jingle{Action: jingle.ActionSessionAccept, SID: c.sid, Responder: p.c.JID(),
		Contents: []jingle.Content{{Creator: creator, Name: content.Name, Senders: content.Senders, Description: desc, Transport: tr}}}
	c.answer, c.codec, c.hasCodec, c.accepted, c.state = j, pts[0], true, true, PhoneActive
	peer := c.peer
	p.changedLocked()
	p.mu.Unlock()
	return p.sendJingle(ctx, peer, j)
}

// Ringing tells the caller the phone rings: session-info <ringing/>, or
// before any session-initiate of a proposed call, JMI <ringing/>.
func (c *PhoneCall) Ringing(ctx context.Context) error {
	p := c.p
	p.mu.Lock()
	jmi := !c.outgoing && (c.state == PhoneProposed || c.state == PhoneProceeded)
	peer := c.peer
	p.mu.Unlock()
	if jmi {
		return p.sendJMI(ctx, peer, "", jingle.NewJMI(jingle.JMIRinging, c.sid))
	}
	return c.sessionInfo(ctx, jingle.RTPInfo(jingle.InfoRinging))
}

// Hold sends session-info <hold/> (XEP-0167 §7).
func (c *PhoneCall) Hold(ctx context.Context) error {
	return c.sessionInfo(ctx, jingle.RTPInfo(jingle.InfoHold))
}

// Unhold sends session-info <unhold/> (XEP-0167 §7).
func (c *PhoneCall) Unhold(ctx context.Context) error {
	return c.sessionInfo(ctx, jingle.RTPInfo(jingle.InfoUnhold))
}

// DTMF sends session-info <dtmf xmlns='urn:xmpp:jingle:dtmf:0'/> for key
// code (0-9 * # A-D) lasting d (XEP-0181).
func (c *PhoneCall) DTMF(ctx context.Context, code byte, d time.Duration) error {
	if !jingle.ValidDTMF(code) {
		return fmt.Errorf("dtmf: %q is not a DTMF key", code)
	}
	return c.sessionInfo(ctx, jingle.DTMF{Code: code, Duration: int(d.Milliseconds())}.Element())
}

func (c *PhoneCall) sessionInfo(ctx context.Context, e jingle.Element) error {
	p := c.p
	p.mu.Lock()
	err := c.inStateLocked("session-info "+e.XMLName.Local, PhonePending, PhoneActive)
	peer := c.peer
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return p.sendJingle(ctx, peer, &jingle.Jingle{Action: jingle.ActionSessionInfo, SID: c.sid, Info: []jingle.Element{e}})
}

// phoneAnswerCodecs picks the first offered codec among ours, then the
// offered telephone-event at its clock rate if we have one.
func phoneAnswerCodecs(offered, ours []jingle.PayloadType) ([]jingle.PayloadType, error) {
	supported := func(pt *jingle.PayloadType) bool {
		return slices.ContainsFunc(ours, func(o jingle.PayloadType) bool { return phoneSamePayload(&o, pt) })
	}
	for i := range offered {
		pt := &offered[i]
		if phoneIsTelephoneEvent(pt) || !supported(pt) {
			continue
		}
		out := []jingle.PayloadType{*pt}
		for k := range offered {
			if te := &offered[k]; phoneIsTelephoneEvent(te) && te.Clockrate == pt.Clockrate && supported(te) {
				out = append(out, *te)
				break
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("accept: no offered codec among the phone's (%d offered)", len(offered))
}

func phoneIsTelephoneEvent(pt *jingle.PayloadType) bool {
	return strings.EqualFold(pt.Name, "telephone-event")
}

// phoneSamePayload: same encoding name, clock rate (0 = unsaid) and
// channel count (0 = 1); a payload type given by number only matches the
// same static number.
func phoneSamePayload(a, b *jingle.PayloadType) bool {
	if a.Name == "" || b.Name == "" {
		return a.ID == b.ID && a.ID < 96
	}
	return strings.EqualFold(a.Name, b.Name) &&
		(a.Clockrate == b.Clockrate || a.Clockrate == 0 || b.Clockrate == 0) &&
		max(a.Channels, 1) == max(b.Channels, 1)
}

// phoneMediaContent is the content named name, or the first RTP audio
// content, or the first content.
func phoneMediaContent(j *jingle.Jingle, name string) *jingle.Content {
	if j == nil || len(j.Contents) == 0 {
		return nil
	}
	if c := j.Content(name); name != "" && c != nil {
		return c
	}
	for i := range j.Contents {
		if d := j.Contents[i].Description; d.IsRTP() && d.Media == "audio" {
			return &j.Contents[i]
		}
	}
	return &j.Contents[0]
}

// phoneRemote is the component-1 candidate of t with the highest
// generation (the first among equals).
func phoneRemote(t *jingle.Transport) (netip.AddrPort, bool) {
	if !t.IsRawUDP() && !t.IsICE() {
		return netip.AddrPort{}, false
	}
	var best *jingle.Candidate
	var addr netip.AddrPort
	for i := range t.Candidates {
		cand := &t.Candidates[i]
		ip, err := netip.ParseAddr(cand.IP)
		if cand.Component != 1 || err != nil || (best != nil && cand.Generation <= best.Generation) {
			continue
		}
		best, addr = cand, netip.AddrPortFrom(ip, cand.Port)
	}
	return addr, best != nil
}
