package testkit

import (
	"encoding/xml"
	"fmt"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// jingleError is a stanza error with a Jingle error condition (XEP-0166 §10).
func jingleError(typ stanza.ErrorType, cond stanza.Condition, app, text string) *stanza.Error {
	return &stanza.Error{Type: typ, Condition: cond, Text: text, App: []byte(`<` + app + ` xmlns="` + jingle.NSErrors + `"/>`)}
}

// onJingle answers a Jingle iq set and, when it is acceptable, acts on it:
// the result goes out before the call changes, as XEP-0166 asks, and
// before any waiter wakes up. Media work (WebRTC mode) is done after
// p.mu is released, still in arrival order on the reader goroutine.
func (p *Phone) onJingle(s *stanza.Stanza) {
	var j jingle.Jingle
	_, err := s.Decode(jingle.NS, "jingle", &j)
	if err == nil {
		err = j.Validate()
	}
	if err != nil {
		p.logf("bad jingle from %s: %v", s.From, err)
		p.reply(stanza.ErrorReply(s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error())))
		return
	}
	p.mu.Lock()
	call := p.calls[j.SID]
	if e := p.refuseLocked(s.From, &j, call); e != nil {
		p.mu.Unlock()
		p.logf("refused %s %s from %s: %v", j.Action, j.SID, s.From, e)
		p.reply(stanza.ErrorReply(s, e))
		return
	}
	res, _ := stanza.Result(s)
	p.reply(res)
	if call == nil {
		call = &PhoneCall{p: p, sid: j.SID}
		p.calls[j.SID] = call
		p.incoming = append(p.incoming, call)
	}
	after := call.applyLocked(s.From, &j)
	p.changedLocked()
	p.mu.Unlock()
	if after != nil {
		after()
	}
}

// refuseLocked is the error answering j, or nil if the phone takes it.
func (p *Phone) refuseLocked(from string, j *jingle.Jingle, call *PhoneCall) *stanza.Error {
	if j.Action == jingle.ActionSessionInitiate {
		switch {
		case call == nil:
			return nil
		case call.outgoing || call.offer != nil || call.state == PhoneEnded:
			return stanza.Errorf(stanza.TypeCancel, stanza.Conflict, "sid %s is taken by a %s call", j.SID, call.state)
		case !sameJID(from, call.peer):
			return stanza.Errorf(stanza.TypeCancel, stanza.BadRequest,
				"session-initiate for proposal %s from %s, but the proposal came from %s", j.SID, from, call.peer)
		}
		return nil
	}
	if call == nil || !sameJID(from, call.peer) || (call.state == PhoneEnded && j.Action != jingle.ActionSessionTerminate) {
		return jingleError(stanza.TypeCancel, stanza.ItemNotFound, "unknown-session", "no session "+j.SID+" with "+from)
	}
	switch j.Action {
	case jingle.ActionSessionAccept:
		if !call.outgoing || call.state != PhonePending {
			return jingleError(stanza.TypeCancel, stanza.UnexpectedRequest, "out-of-order",
				fmt.Sprintf("session-accept for a %s call", call.state))
		}
	case jingle.ActionSessionInfo:
		if e, ok := j.SessionInfo(); ok && e.XMLName.Space != jingle.NSRTPInfo && e.XMLName.Space != jingle.NSDTMF {
			return jingleError(stanza.TypeModify, stanza.FeatureNotImplemented, "unsupported-info",
				fmt.Sprintf("<%s xmlns=%q>", e.XMLName.Local, e.XMLName.Space))
		}
	}
	return nil
}

// applyLocked acts on an accepted Jingle action from. It returns what is
// left to do once p.mu is released (media work in WebRTC mode), or nil.
func (c *PhoneCall) applyLocked(from string, j *jingle.Jingle) (after func()) {
	webrtc := c.p.o.WebRTC
	switch j.Action {
	case jingle.ActionSessionInitiate:
		c.peer, c.offer, c.state = from, j, PhonePending
		if content := phoneMediaContent(j, ""); content != nil {
			c.contentName = content.Name
		}
		c.setRemoteLocked(j)
		if webrtc {
			c.checkOfferLocked(j)
		}
	case jingle.ActionSessionAccept:
		if webrtc && !c.checkAnswerLocked(j) {
			return nil
		}
		c.answer, c.accepted, c.state = j, true, PhoneActive
		if content := phoneMediaContent(j, c.contentName); content != nil && content.Description != nil && len(content.Description.PayloadTypes) > 0 {
			c.codec, c.hasCodec = content.Description.PayloadTypes[0], true
		}
		c.setRemoteLocked(j)
		if webrtc {
			return c.applyAnswer(j, c.rtc, c.localSDP)
		}
	case jingle.ActionTransportInfo:
		c.setRemoteLocked(j)
		if webrtc {
			return c.trickledLocked(j)
		}
	case jingle.ActionSessionTerminate:
		c.endLocked(j.Reason, false, nil)
	case jingle.ActionSessionInfo:
		if e, ok := j.SessionInfo(); ok {
			c.ringing = c.ringing || e.XMLName == xml.Name{Space: jingle.NSRTPInfo, Local: jingle.InfoRinging}
			c.infos = append(c.infos, e)
		}
	case jingle.ActionContentModify:
		for _, content := range j.Contents {
			c.infos = append(c.infos, jingle.Element{XMLName: xml.Name{Space: jingle.NS, Local: string(j.Action)},
				Attrs: []xml.Attr{{Name: xml.Name{Local: "name"}, Value: content.Name}, {Name: xml.Name{Local: "senders"}, Value: string(content.Senders)}}})
		}
	default:
		c.infos = append(c.infos, jingle.Element{XMLName: xml.Name{Space: jingle.NS, Local: string(j.Action)}})
	}
	return nil
}

func (c *PhoneCall) setRemoteLocked(j *jingle.Jingle) {
	if content := phoneMediaContent(j, c.contentName); content != nil {
		if addr, ok := phoneRemote(content.Transport); ok {
			c.remote = addr
		}
	}
}

// phoneProposePrefix starts the id of a propose message, as in
// Conversations, so that a bounce can be matched to its call.
const phoneProposePrefix = "jm-propose-"

func (c *PhoneCall) proposeID() string { return phoneProposePrefix + c.sid }

// phoneJMI decodes the JMI element of a message.
func phoneJMI(s *stanza.Stanza) (*jingle.JMI, bool) {
	name, ok := s.Element(jingle.NSJMI)
	if !ok {
		return nil, false
	}
	var m jingle.JMI
	if found, err := s.Decode(jingle.NSJMI, name.Local, &m); !found || err != nil || m.ID == "" {
		return nil, false
	}
	return &m, true
}

// onMessage handles JMI messages and carbons of them; false leaves the
// message to Expect.
func (p *Phone) onMessage(s *stanza.Stanza) bool {
	fwd, sent, isCarbon := p.carbon(s)
	if s.Type == "error" && !isCarbon {
		sid, ok := strings.CutPrefix(s.ID, phoneProposePrefix)
		p.mu.Lock()
		defer p.mu.Unlock()
		call := p.calls[sid]
		if !ok || call == nil || call.state != PhoneProposing {
			return false
		}
		call.endLocked(nil, false, stanza.ParseError(s))
		return true
	}
	if isCarbon {
		s = fwd
	}
	m, ok := phoneJMI(s)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	call := p.calls[m.ID]
	if isCarbon {
		return p.onCarbonLocked(call, m, fwd, sent)
	}
	if m.Kind() == jingle.JMIPropose {
		if call == nil {
			call = &PhoneCall{p: p, sid: m.ID, jmi: true, peer: s.From, state: PhoneProposed}
			p.calls[m.ID] = call
			p.incoming = append(p.incoming, call)
			p.changedLocked()
			p.ackReceipt(s)
		}
		return true // else a copy (to the bare and the full JID)
	}
	if call == nil {
		return false
	}
	if sameBare(s.From, p.c.BareJID()) && m.Kind() == jingle.JMIAccept {
		// Older clients (Dino) tell their siblings with <accept/> to the own bare JID.
		return p.answeredElsewhereLocked(call, s.From)
	}
	if (call.outgoing && !sameBare(s.From, call.to)) || (!call.outgoing && !sameBare(s.From, call.peer)) {
		return false
	}
	switch m.Kind() {
	case jingle.JMIProceed:
		if !call.outgoing {
			return false
		}
		if call.state == PhoneProposing {
			call.peer, call.state = s.From, PhoneProceeded
		}
	case jingle.JMIRinging:
		call.ringing = true
	case jingle.JMIReject, jingle.JMIRetract:
		if call.offer == nil {
			call.endLocked(m.Reason, false, nil)
		}
	case jingle.JMIFinish:
		call.endLocked(m.Reason, false, nil)
	default:
		return false
	}
	p.changedLocked()
	return true
}

// ackReceipt answers an XEP-0184 receipt request.
func (p *Phone) ackReceipt(s *stanza.Stanza) {
	if name, ok := s.Element(nsReceipts); ok && name.Local == "request" && s.ID != "" {
		p.reply(&stanza.Stanza{XMLName: xml.Name{Local: string(stanza.KindMessage)}, To: s.From, ID: p.newID(),
			Payload: []byte(`<received xmlns="` + nsReceipts + `" id="` + xmlEscape(s.ID) + `"/>`)})
	}
}

// carbon unwraps an XEP-0280 carbon from the own account: the forwarded
// message and whether another resource sent it (else received it).
func (p *Phone) carbon(s *stanza.Stanza) (fwd *stanza.Stanza, sent, ok bool) {
	if s.From != "" && s.From != p.c.BareJID() {
		return nil, false, false
	}
	name, ok := s.Element(nsCarbons)
	if !ok || (name.Local != "sent" && name.Local != "received") {
		return nil, false, false
	}
	var w struct {
		Fwd struct {
			Msg stanza.Stanza `xml:"message"`
		} `xml:"urn:xmpp:forward:0 forwarded"`
	}
	if found, err := s.Decode(nsCarbons, name.Local, &w); !found || err != nil || w.Fwd.Msg.XMLName.Local != "message" {
		return nil, false, false
	}
	return &w.Fwd.Msg, name.Local == "sent", true
}

// onCarbonLocked ends a proposed call that another resource of the
// account proceeded with or rejected (a sent carbon), or that the caller
// retracted or finished towards another resource (a received carbon).
func (p *Phone) onCarbonLocked(call *PhoneCall, m *jingle.JMI, fwd *stanza.Stanza, sent bool) bool {
	if call == nil || call.outgoing || call.offer != nil || call.state == PhoneEnded {
		return false
	}
	switch k := m.Kind(); {
	case sent && sameBare(fwd.To, call.peer) && (k == jingle.JMIProceed || k == jingle.JMIAccept):
		return p.answeredElsewhereLocked(call, fwd.From)
	case sent && sameBare(fwd.To, call.peer) && k == jingle.JMIReject,
		!sent && sameBare(fwd.From, call.peer) && (k == jingle.JMIRetract || k == jingle.JMIFinish):
		call.endLocked(m.Reason, false, nil)
		return true
	}
	return false
}

// answeredElsewhereLocked ends a proposed call another resource took: with
// reason <cancel/> and the text "answered elsewhere by <its JID>".
func (p *Phone) answeredElsewhereLocked(call *PhoneCall, by string) bool {
	if call.outgoing || call.state != PhoneProposed {
		return false
	}
	call.endLocked(jingle.NewReason(jingle.Cancel, "answered elsewhere by "+by), false, nil)
	return true
}
