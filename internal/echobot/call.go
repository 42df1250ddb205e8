package echobot

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/mediapath"
	"fargo.dev/fargo/internal/stanza"
)

// callKey names a call: Jingle sids are chosen by the initiator, so two
// callers may pick the same one.
type callKey struct{ peer, sid string }

func keyOf(from, sid string) callKey {
	return callKey{peer: strings.ToLower(bare(from)), sid: sid}
}

type callState int

const (
	stateNew      callState = iota
	stateProposed           // JMI proceed sent, waiting for the session-initiate
	stateActive             // session-accept sent
	stateEnded
)

// inboxSize bounds the work queued for one call; a caller flooding more
// than this gets resource-constraint errors instead of stalling the reader.
const inboxSize = 64

// call is one caller's session. Its actor goroutine runs the closures
// posted to inbox one at a time, so the media path (whose methods must not
// run concurrently) and the state need no lock.
type call struct {
	b   *Bot
	key callKey
	jmi bool // started by a JMI propose: ends with a <finish/>
	log *slog.Logger

	// Guarded by b.mu: the device the session is with, and whether its
	// session-initiate arrived (before that, only JMI speaks of it).
	peer      string
	initiated bool

	inbox chan func()
	quit  chan struct{} // closed by the actor when the call ended

	// Owned by the actor.
	state   callState
	to      string // the caller's full JID
	self    string // our full JID as the caller addressed it
	path    *mediapath.Path
	timer   *time.Timer
	audio   string // the echoed content's name
	session bool   // the session-initiate arrived: ending takes a session-terminate
}

// admit registers a new call for key, or returns the call that already
// has it, or the reason to turn the caller away.
func (b *Bot) admit(key callKey, peer string, jmi, initiated bool) (c, existing *call, refuse *jingle.Reason) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old := b.calls[key]; old != nil {
		return nil, old, nil
	}
	switch {
	case b.closed:
		return nil, nil, jingle.NewReason(jingle.Gone, "the echo bot is shutting down")
	case len(b.calls) >= b.cfg.MaxCalls:
		return nil, nil, jingle.NewReason(jingle.Busy, fmt.Sprintf("the echo bot is busy (%d calls at once); try again later", b.cfg.MaxCalls))
	}
	c = &call{
		b: b, key: key, jmi: jmi, peer: peer, initiated: initiated, to: peer,
		log:   b.log.With("sid", key.sid, "peer", peer),
		inbox: make(chan func(), inboxSize), quit: make(chan struct{}),
	}
	b.calls[key] = c
	b.calling.Add(1)
	go c.run()
	return c, nil, nil
}

// find returns the call of key whose session-initiate came from from.
func (b *Bot) find(key callKey, from string) *call {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.calls[key]; c != nil && c.initiated && c.peer == from {
		return c
	}
	return nil
}

// proposed returns the call of key whatever its state (JMI elements may
// come from any of the caller's devices).
func (b *Bot) proposed(key callKey) *call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[key]
}

// peerGone ends the calls with a device that went offline.
func (b *Bot) peerGone(full string) {
	b.mu.Lock()
	var gone []*call
	for _, c := range b.calls {
		if c.peer == full {
			gone = append(gone, c)
		}
	}
	b.mu.Unlock()
	for _, c := range gone {
		c.post(func() {
			c.log.Info("caller went offline")
			c.end(nil)
		})
	}
}

func (b *Bot) forget(c *call) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls[c.key] == c {
		delete(b.calls, c.key)
	}
}

func (c *call) run() {
	defer c.b.calling.Done()
	for {
		select {
		case f := <-c.inbox:
			f()
			if c.state == stateEnded {
				return
			}
		case <-c.quit:
			return
		}
	}
}

// post queues f for the actor; false if the call ended or its queue is
// full.
func (c *call) post(f func()) bool {
	select {
	case <-c.quit:
		return false
	default:
	}
	select {
	case c.inbox <- f:
		return true
	default:
		return false
	}
}

// arm replaces the call's timer: f runs on the actor after d.
func (c *call) arm(d time.Duration, f func()) {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(d, func() { c.post(f) })
}

// end finishes the call on the actor: it releases the media and forgets
// the call; with a reason (we end it) the caller is told, by
// session-terminate once there is a session and by a JMI <finish/> for a
// call that began with a proposal. A nil reason means the caller ended it.
func (c *call) end(r *jingle.Reason) {
	if c.state == stateEnded {
		return
	}
	c.state = stateEnded
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.path != nil {
		c.path.Close()
	}
	c.b.forget(c)
	close(c.quit)
	if r == nil {
		c.log.Info("call ended by the caller")
		return
	}
	c.log.Info("call ended", "reason", r.Condition, "text", r.Text)
	if c.session {
		j := c.jingle(jingle.ActionSessionTerminate)
		j.Reason = r
		c.b.sendNew(c.b.life, stanza.KindIQ, "set", c.to, newID(), j)
	}
	if c.jmi {
		c.sendJMI(jingle.JMIFinish, r)
	}
}

// hangUp ends the call from our side.
func (c *call) hangUp(r *jingle.Reason) { c.end(r) }

func reasonShutdown() *jingle.Reason {
	return jingle.NewReason(jingle.Success, "the echo bot is shutting down")
}

// jingle starts a Jingle element of this call: the caller is the
// initiator, we the responder.
func (c *call) jingle(a jingle.Action) *jingle.Jingle {
	return &jingle.Jingle{Action: a, SID: c.key.sid, Initiator: c.to, Responder: c.self}
}

// storeHint asks the server to archive JMI messages (XEP-0353 §5), so
// the caller's other devices learn how the call went.
type storeHint struct {
	XMLName xml.Name `xml:"urn:xmpp:hints store"`
}

// sendJMI sends a JMI element about this call to the caller's device.
func (c *call) sendJMI(kind string, r *jingle.Reason) {
	m := jingle.NewJMI(kind, c.key.sid)
	m.Reason = r
	c.b.sendNew(c.b.life, stanza.KindMessage, "chat", c.to, newID(), m, storeHint{})
}

// request sends a Jingle iq and, if the caller refuses it or does not
// answer, runs onErr on the actor. The wait runs beside the actor.
func (c *call) request(j *jingle.Jingle, onErr func(*stanza.Error)) {
	b := c.b
	iq := b.build(stanza.KindIQ, "set", c.to, newID(), j)
	if iq == nil {
		return
	}
	b.mu.Lock()
	if b.life.Err() != nil {
		b.mu.Unlock()
		b.send(context.Background(), iq)
		return
	}
	b.iqs.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.iqs.Done()
		ctx, cancel := context.WithTimeout(b.life, b.cfg.IQTimeout)
		defer cancel()
		res, err := b.out.SendIQ(ctx, iq)
		var serr *stanza.Error
		switch {
		case err != nil && b.life.Err() == nil:
			serr = stanza.NewError(stanza.TypeWait, stanza.RemoteServerTimeout, err.Error())
		case err == nil:
			serr = stanza.ParseError(res)
		}
		if serr != nil {
			c.post(func() { onErr(serr) })
		}
	}()
}
