package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// call is one Jingle session of a simulated user.
type call struct {
	sid string
	out bool

	start time.Time // outgoing: session-initiate written
	// Stamps of the SIP side from our UAS, in ns since the runner's epoch
	// (0: not seen): the INVITE's arrival and the 200's departure.
	invite, answered atomic.Int64

	accepted chan acceptInfo // outgoing: the session-accept (buffer 1)
	ended    chan string     // the gateway's session-terminate reason (buffer 1)
}

type acceptInfo struct {
	at   time.Time
	from string
}

func newCall(sid string, out bool) *call {
	return &call{sid: sid, out: out, accepted: make(chan acceptInfo, 1), ended: make(chan string, 1)}
}

// jingleHead is what we need of most Jingle iqs.
type jingleHead struct {
	Action jingle.Action  `xml:"action,attr"`
	SID    string         `xml:"sid,attr"`
	Reason *jingle.Reason `xml:"reason"`
}

// jingle answers a Jingle iq set from the gateway; acknowledging first is
// what XEP-0166 asks of every party.
func (u *user) jingle(s *stanza.Stanza) {
	now := time.Now()
	var h jingleHead
	if _, err := s.Decode(jingle.NS, "jingle", &h); err != nil {
		u.replyRaw(`<iq type='error' id='` + xmlEscape(s.ID) + `' to='` + xmlEscape(s.From) +
			`'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
		return
	}
	u.reply(s, "")
	switch h.Action {
	case jingle.ActionSessionAccept:
		if c := u.lookup(h.SID); c != nil && c.out {
			select {
			case c.accepted <- acceptInfo{at: now, from: s.From}:
			default:
			}
		}
	case jingle.ActionSessionInitiate:
		u.answerIncoming(s)
	case jingle.ActionSessionTerminate:
		c := u.lookup(h.SID)
		if c == nil {
			return
		}
		reason := "?"
		if h.Reason != nil {
			reason = string(h.Reason.Condition)
		}
		if !c.out {
			u.forget(c)
			u.r.cur().inEnded.Add(1)
		}
		select {
		case c.ended <- reason:
		default:
		}
	}
}

func (u *user) lookup(sid string) *call {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[sid]
}

func (u *user) track(c *call) {
	u.mu.Lock()
	u.calls[c.sid] = c
	u.mu.Unlock()
}

func (u *user) forget(c *call) {
	u.mu.Lock()
	delete(u.calls, c.sid)
	u.mu.Unlock()
}

// answerIncoming accepts a call the gateway rings us with (from a SIPp UAC)
// with the first G.711 codec offered and a raw-UDP candidate; no media
// flows, the benchmark measures signalling.
func (u *user) answerIncoming(s *stanza.Stanza) {
	var j jingle.Jingle
	st := u.r.cur()
	if _, err := s.Decode(jingle.NS, "jingle", &j); err != nil || len(j.Contents) == 0 {
		st.inRefused.Add(1)
		return
	}
	ct := j.Contents[0]
	var pt *jingle.PayloadType
	if ct.Description != nil {
		for i := range ct.Description.PayloadTypes {
			if n := strings.ToUpper(ct.Description.PayloadTypes[i].Name); n == "PCMU" || n == "PCMA" {
				pt = &ct.Description.PayloadTypes[i]
				break
			}
		}
	}
	if pt == nil || ct.Transport == nil || !ct.Transport.IsRawUDP() {
		st.inRefused.Add(1)
		u.sendAsync(s.From, `<jingle xmlns='`+jingle.NS+`' action='session-terminate' sid='`+xmlEscape(j.SID)+
			`'><reason><failed-application/></reason></jingle>`)
		return
	}
	creator := string(ct.Creator)
	if creator == "" {
		creator = "initiator"
	}
	u.track(newCall(j.SID, false))
	u.sendAsync(s.From, `<jingle xmlns='`+jingle.NS+`' action='session-accept' sid='`+xmlEscape(j.SID)+`' responder='`+xmlEscape(u.c.jid)+
		`'><content creator='`+creator+`' name='`+xmlEscape(ct.Name)+`' senders='both'><description xmlns='`+jingle.NSRTP+
		`' media='audio'><payload-type id='`+strconv.Itoa(int(pt.ID))+`' name='`+xmlEscape(pt.Name)+`' clockrate='`+
		strconv.Itoa(int(pt.Clockrate))+`'/></description>`+u.transport()+`</content></jingle>`)
	st.inAnswered.Add(1)
}

// transport is a raw-UDP candidate at a port of our own; nothing listens
// there (signalling-only calls).
func (u *user) transport() string {
	return `<transport xmlns='` + jingle.NSRawUDP + `'><candidate component='1' generation='0' id='c` + u.name +
		`' ip='127.0.0.1' port='` + strconv.Itoa(40000+(u.idx%10000)*2) + `'/></transport>`
}

func (u *user) initiateXML(sid string) string {
	return `<jingle xmlns='` + jingle.NS + `' action='session-initiate' sid='` + sid + `' initiator='` + xmlEscape(u.c.jid) +
		`'><content creator='initiator' name='audio' senders='both'><description xmlns='` + jingle.NSRTP +
		`' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/><payload-type id='8' name='PCMA' clockrate='8000'/></description>` +
		u.transport() + `</content></jingle>`
}

func terminateXML(sid, cond string) string {
	return `<jingle xmlns='` + jingle.NS + `' action='session-terminate' sid='` + sid + `'><reason><` + cond + `/></reason></jingle>`
}

// place makes one outgoing call to the answering peer: session-initiate,
// wait for session-accept, hold, session-terminate. Each outcome is
// counted in st.
func (u *user) place(ctx context.Context, st *step) {
	r := u.r
	sid := "bench" + u.name + u.newID()
	c := newCall(sid, true)
	u.track(c)
	u.out.Store(c)
	defer func() {
		u.out.CompareAndSwap(c, nil)
		u.forget(c)
	}()
	st.attempted.Add(1)
	c.start = time.Now()
	res, err := u.sendIQ(ctx, "set", r.contact, u.initiateXML(sid), r.cfg.SetupTimeout)
	if err != nil {
		st.fail("session-initiate: " + err.Error())
		return
	}
	if res.Type == "error" {
		st.fail("session-initiate refused: " + errCondition(res))
		return
	}
	timer := time.NewTimer(r.cfg.SetupTimeout)
	defer timer.Stop()
	var acc acceptInfo
	select {
	case acc = <-c.accepted:
	case reason := <-c.ended:
		st.fail("ended before answer: " + reason)
		return
	case <-timer.C:
		st.fail("no session-accept in time")
		u.sendAsync(r.contact, terminateXML(sid, "cancel"))
		return
	case <-ctx.Done():
		return
	}
	st.recordSetup(r, c, acc.at)
	hold := time.NewTimer(r.cfg.Hold)
	defer hold.Stop()
	select {
	case <-hold.C:
	case reason := <-c.ended:
		st.fail("ended during the call: " + reason)
		return
	case <-ctx.Done():
		return
	}
	res, err = u.sendIQ(ctx, "set", acc.from, terminateXML(sid, "success"), r.cfg.SetupTimeout)
	switch {
	case err != nil:
		st.fail("session-terminate: " + err.Error())
	case res.Type == "error":
		st.fail("session-terminate refused: " + errCondition(res))
	default:
		st.completed.Add(1)
	}
}

func errCondition(s *stanza.Stanza) string {
	if e := stanza.ParseError(s); e != nil {
		return fmt.Sprintf("%s %s", e.Condition, e.Text)
	}
	return "error"
}
