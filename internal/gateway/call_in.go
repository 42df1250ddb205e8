package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/jinglesdp"
	"fargo.dev/fargo/internal/reason"
	"fargo.dev/fargo/internal/stanza"
)

// anonymousLocal is the contact a withheld caller ID maps to
// (protocol-map §7 pitfall 21): it can ring, it is never called back.
const anonymousLocal = "anonymous"

// IncomingCall is the SIP user agent's hook for an INVITE to a user's
// contact token. It returns at once; the user's actor rings the devices.
// A nil handler makes the UA answer 480.
func (g *Gateway) IncomingCall(ic SIPIncoming) SIPCallHandler {
	u := g.userByToken(ic.Token())
	if u == nil || g.isDraining() {
		return nil
	}
	c := newCall(u, newSID(), incoming, "")
	if !u.box.postNow(func() { u.ringIn(c, ic) }) {
		return nil
	}
	return &sipEvents{c: c}
}

// newSID makes a Jingle sid that is also a valid XML NCName.
func newSID() string { return "s" + strings.ToLower(newID()) }

// ringIn decides whether and where an incoming call rings.
func (u *user) ringIn(c *call, ic SIPIncoming) {
	c.in, c.sip = ic, ic
	c.state = stateCalling
	c.log = c.log.With("sip_call_id", ic.CallID())
	if u.account == nil || u.account.ContactToken != ic.Token() {
		// Removed (or removed and registered anew, with a new token)
		// while the INVITE was looked up.
		c.reject(404, "Not Found", "no such user at this gateway")
		return
	}
	c.setCaller(ic)
	if len(u.resources) == 0 {
		c.reject(480, "Temporarily Unavailable", "the XMPP user is offline")
		return
	}
	if serr := u.addCall(c); serr != nil {
		status, phrase := 486, "Busy Here"
		if len(u.calls) < u.g.cfg.Calls.MaxPerUser {
			status, phrase = 503, "Service Unavailable"
		}
		c.sendReject(status, phrase, serr.Text)
		return
	}
	if !c.takeOffer(ic.Offer()) {
		return
	}
	if err := ic.Ring(); err != nil {
		c.log.Debug("180 not sent", "err", err)
	}
	c.arm(u.g.cfg.Calls.RingTimeout, c.noAnswer)
	c.log.Info("incoming call", "from", c.target, "codecs", strings.Join(jinglesdp.Codecs(c.sipKept), ", "))
	c.discoverDevices()
}

// setCaller maps the caller's identity to the contact the user sees.
func (c *call) setCaller(ic SIPIncoming) {
	uri, _ := ic.From()
	if a := ic.Asserted(); a != "" {
		uri = a
	}
	c.target = uri
	_, domain, _ := strings.Cut(c.u.account.SIPAddress, "@")
	contact := anonymousLocal + "@" + c.u.g.cfg.Domain
	if r, err := address.ParseURIFor(uri, domain); err == nil && !ic.Privacy() {
		if j, err := address.ToJID(r, c.u.g.cfg.Domain, domain); err == nil {
			contact = j
		}
	}
	c.contact, c.contactFull = contact, contact+"/"+contactResource
	c.log = c.log.With("contact", contact)
}

// takeOffer reads the INVITE's SDP and keeps the media the users'
// clients can take; otherwise the INVITE is refused with 488.
func (c *call) takeOffer(offer []byte) bool {
	if len(offer) == 0 {
		c.reject(488, "Not Acceptable Here", "an INVITE without an SDP offer (delayed offer) is not supported: send the offer in the INVITE")
		return false
	}
	m, err := jinglesdp.ParseSDP(offer, jingle.RoleInitiator, nil)
	if err != nil {
		c.reject(488, "Not Acceptable Here", "unreadable SDP: "+err.Error())
		return false
	}
	c.sipOffer, c.sipMedia = m, m
	kept := audioOnly(jinglesdp.Intersect(m.Contents, c.u.g.cfg.Calls.Codecs))
	if len(kept) == 0 {
		c.reject(488, "Not Acceptable Here", fmt.Sprintf("no common codec: the caller offered %s; XMPP clients take %s",
			orNone(jinglesdp.Codecs(m.Contents)), strings.Join(jinglesdp.Codecs([]jingle.Content{{Description: &jingle.Description{PayloadTypes: c.u.g.cfg.Calls.Codecs}}}), ", ")))
		return false
	}
	c.sipKept = kept
	return c.offerUser()
}

// offerUser turns the SIP offer into what the user's devices are offered,
// through the call's media path (direct or relayed).
func (c *call) offerUser() bool {
	contents, err := c.media.ToXMPP(c.sipKept)
	if err != nil {
		// The path refuses media it cannot carry (e.g. mandatory SRTP
		// with no usable crypto suite).
		c.reject(488, "Not Acceptable Here", err.Error())
		return false
	}
	c.offerToUser, c.userGroup = contents, nil
	switch {
	case c.media.Relayed() && contents[0].Transport.IsICE():
		c.userGroup = bundleOf(contents)
	case c.sipOffer.Group != nil:
		c.userGroup = groupOf(contents, c.sipOffer.Group.Semantics)
	}
	return true
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nothing usable"
	}
	return strings.Join(s, ", ")
}

// audioOnly keeps accepted audio contents that still have a codec.
func audioOnly(cs []jingle.Content) []jingle.Content {
	var out []jingle.Content
	for _, ct := range cs {
		if ct.Description.IsRTP() && ct.Description.Media == "audio" && hasRealCodec(ct.Description.PayloadTypes) {
			out = append(out, ct)
		}
	}
	return out
}

func hasRealCodec(pts []jingle.PayloadType) bool {
	for _, pt := range pts {
		switch strings.ToLower(pt.Name) {
		case "telephone-event", "cn", "red", "rtx", "ulpfec":
		default:
			return true
		}
	}
	return false
}

func groupOf(cs []jingle.Content, semantics string) *jingle.Group {
	g := &jingle.Group{Semantics: semantics}
	for _, ct := range cs {
		g.Contents = append(g.Contents, jingle.GroupContent{Name: ct.Name})
	}
	return g
}

// reject refuses the INVITE and forgets the call.
func (c *call) reject(status int, phrase, warning string) {
	c.sendReject(status, phrase, warning)
	c.close()
}

// sendReject answers the INVITE with a final error; the caller decides
// what becomes of the call.
func (c *call) sendReject(status int, phrase, warning string) {
	c.log.Info("incoming call refused", "status", status, "why", warning)
	if err := c.in.Reject(status, phrase, warning, 0); err != nil {
		c.log.Debug("reject INVITE", "err", err)
	}
}

// discoverDevices learns what the user's online devices can do (caps,
// cached), off the actor, then rings the suitable ones.
func (c *call) discoverDevices() {
	u := c.u
	type dev struct{ full, caps string }
	devs := make([]dev, 0, len(u.resources))
	for full := range u.resources {
		devs = append(devs, dev{full, u.resCaps[full]})
	}
	go func() {
		feats := make([]deviceFeatures, 0, len(devs))
		for _, d := range devs {
			feats = append(feats, u.g.resourceFeatures(u.ctx, d.full, d.caps))
		}
		u.post(func() { c.ringDevices(feats) })
	}()
}

// ringDevices rings every device that can take the call: one JMI propose
// to the bare JID for JMI clients (all of them ring, carbons stop them),
// a session-initiate to each Jingle client without JMI.
func (c *call) ringDevices(devs []deviceFeatures) {
	if c.state != stateCalling {
		return
	}
	if !c.chooseMedia(devs) {
		return
	}
	wantICE := c.offerToUser[0].Transport.IsICE()
	var direct []string
	jmi, capable := false, 0
	for _, d := range devs {
		if !d.jingle || !c.u.resources[d.full] {
			continue
		}
		if (wantICE && !d.ice) || (!wantICE && !d.rawUDP) {
			continue
		}
		capable++
		if d.jmi {
			jmi = true
		} else {
			direct = append(direct, d.full)
		}
	}
	if capable == 0 {
		c.reject(488, "Not Acceptable Here", noDeviceText(wantICE, len(devs)))
		return
	}
	c.rung = make(map[string]bool, len(direct))
	if jmi {
		c.proposed, c.jmi = true, true
		c.sendJMI(c.u.jid, jingle.JMIPropose, nil)
	}
	for _, full := range direct {
		c.rung[full] = true
		c.initiateTo(full)
	}
	c.log.Info("ringing", "jmi", jmi, "devices", len(direct))
}

// chooseMedia decides, once the devices are known, whether the call's
// media goes through the relay, and if so offers the relay's leg instead.
func (c *call) chooseMedia(devs []deviceFeatures) bool {
	g := c.u.g
	if g.relay == nil || c.media.Relayed() {
		return true
	}
	allRaw, anyICE := true, false
	for _, d := range devs {
		if !d.jingle || !c.u.resources[d.full] {
			continue
		}
		allRaw = allRaw && d.rawUDP
		anyICE = anyICE || d.ice
	}
	if !g.cfg.Media.relayIncoming(c.sipKept, allRaw) {
		return true
	}
	if err := c.useRelay(anyICE); err != nil {
		c.reject(503, "Service Unavailable", err.Error())
		return false
	}
	return c.offerUser()
}

func noDeviceText(ice bool, n int) string {
	t := "plain RTP (raw UDP)"
	if ice {
		t = "ICE"
	}
	return fmt.Sprintf("none of the user's %d online devices can take %s calls (media.mode decides whether the relay joins them)", n, t)
}

// initiateTo sends the session-initiate for the call to one device.
func (c *call) initiateTo(full string) {
	j := c.jingleFor(jingle.ActionSessionInitiate)
	j.Contents, j.Group = c.offerToUser, c.userGroup
	c.sendJingle(full, j, func(serr *stanza.Error) { c.deviceGone(full, serr) })
}

// deviceGone handles a device that refused or could not take the
// session-initiate (or a bounced propose, full ""): if nothing rings any
// more the caller hears why.
func (c *call) deviceGone(full string, serr *stanza.Error) {
	if c.state != stateCalling || (c.peer != "" && c.peer != full) {
		return
	}
	delete(c.rung, full)
	if c.peer == full && full != "" {
		c.peer = ""
	}
	if len(c.rung) > 0 || c.proposed || c.peer != "" {
		return
	}
	status, phrase := reason.StanzaToStatus(serr.Condition, full != "")
	c.reject(status, phrase, "the XMPP client answered "+string(serr.Condition))
}

// noAnswer ends a call nobody answered in time.
func (c *call) noAnswer() {
	if c.state != stateCalling {
		return
	}
	// hangupSIP answers an unanswered INVITE with 480 for a timeout.
	c.end(jingle.NewReason(jingle.Timeout, fmt.Sprintf("no answer within %s", c.u.g.cfg.Calls.RingTimeout)))
}

// deviceJMI handles JMI from the user's devices for an incoming call.
func (c *call) deviceJMI(from string, m *jingle.JMI) {
	if c.state != stateCalling {
		return
	}
	switch m.Kind() {
	case jingle.JMIProceed, jingle.JMIAccept:
		if c.peer != "" || !c.proposed {
			return
		}
		c.peer = from
		c.stopRinging(from, jingle.NewReason(jingle.Cancel, "answered on another device"))
		c.proposed = true // the JMI session continues on this device
		c.initiateTo(from)
	case jingle.JMIReject:
		status, phrase := reason.JMIRejectStatus(m.Reason)
		c.log.Info("user rejected the call", "status", status)
		c.sendReject(status, phrase, "")
		c.stopRinging("", orReason(m.Reason, jingle.Busy))
		c.close()
	}
}

// userAccepted takes a device's session-accept and answers the INVITE.
func (c *call) userAccepted(req *stanza.Stanza, j *jingle.Jingle, arrived time.Time) {
	if c.dir != incoming || c.state != stateCalling || (c.peer != "" && c.peer != req.From) {
		c.u.g.replyError(c.u.ctx, req, errOutOfOrder(""))
		return
	}
	c.u.g.reply(c.u.ctx, req)
	c.peer = req.From
	c.stopRinging(req.From, jingle.NewReason(jingle.Cancel, "answered on another device"))
	if err := jinglesdp.CheckAnswer(c.offerToUser, j.Contents); err != nil {
		c.end(jingle.NewReason(jingle.IncompatibleParameters, err.Error()))
		return
	}
	c.userContents, c.phaseStart = j.Contents, arrived
	c.disarm()
	if !c.media.Relayed() && needsCandidates(j.Contents) {
		c.phaseStart = time.Time{} // the client's candidates are not ours to count
		c.arm(c.u.g.cfg.Calls.GatherTimeout, c.answerSIP)
		return
	}
	c.answerSIP()
}

// answerSIP sends the 200 built from the user's answer; the ACK confirms.
func (c *call) answerSIP() {
	contents, err := c.media.ToSIP(c.userContents)
	if err != nil {
		c.end(jingle.NewReason(jingle.FailedApplication, err.Error()))
		return
	}
	sdp, err := jinglesdp.BuildSDP(contents, c.sipGroup(), jingle.RoleResponder, c.nextOrigin(contents), c.sipOffer)
	if err != nil {
		c.end(jingle.NewReason(jingle.IncompatibleParameters, err.Error()))
		return
	}
	c.state = stateAnswering
	in, u, start := c.in, c.u, c.phaseStart
	ctx, cancel := c.callContext()
	go func() {
		defer cancel()
		u.g.observeSince(PhaseAcceptToOK, start)
		err := in.Answer(ctx, sdp)
		u.post(func() { c.answerDone(err) })
	}()
}

func (c *call) answerDone(err error) {
	if c.state == stateEnded {
		return
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		c.log.Info("the SIP caller never confirmed the answer", "err", err)
		c.sipEnded(jingle.NewReason(jingle.ConnectivityError, "the SIP caller did not confirm the answer"))
		return
	}
	c.confirmed()
}

// confirmed marks the answered call active (once: the ACK event and
// Answer's return both report it).
func (c *call) confirmed() {
	if c.state != stateAnswering {
		return
	}
	c.state, c.answeredAt = stateActive, time.Now()
	c.u.g.stats.callsAnswered.Add(1)
	c.log.Info("call answered", "device", c.peer)
}

// incomingEvent handles the SIP side of an incoming call.
func (c *call) incomingEvent(e SIPEvent) {
	switch e.Kind {
	case SIPAnswered:
		c.confirmed()
	case SIPCancelled:
		c.sipEnded(ptr(reason.FromCancel(e.ReasonHeader)))
	default:
		c.dialogEvent(e)
	}
}
