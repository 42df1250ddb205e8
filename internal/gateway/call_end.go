package gateway

import (
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/reason"
)

// userTerminated handles a session-terminate from one of the user's
// devices. While an incoming call still rings elsewhere, one device's
// "busy" only stops that device; a decline is the user's answer.
func (c *call) userTerminated(from string, r *jingle.Reason) {
	if r == nil {
		r = jingle.NewReason(jingle.Success, "")
	}
	if c.dir == incoming && c.state == stateCalling && c.peer == "" {
		delete(c.rung, from)
		if r.Condition != jingle.Decline && (len(c.rung) > 0 || c.proposed) {
			return
		}
	}
	c.log.Info("user ended the call", "reason", r.Condition, "state", c.state)
	c.hangupSIP(r)
	c.stopRinging(from, jingle.NewReason(jingle.Cancel, "ended on another device"))
	c.finishJMI(r)
	c.close()
}

// sipEnded handles the SIP side's end of the call: the user hears why.
func (c *call) sipEnded(r *jingle.Reason) {
	c.log.Info("SIP side ended the call", "reason", r.Condition, "text", r.Text, "state", c.state)
	c.tellUser(r)
	c.close()
}

// end finishes the call for a reason of the gateway's own (timeouts,
// limits, failures): both sides are told.
func (c *call) end(r *jingle.Reason) {
	c.log.Info("call ended by the gateway", "reason", r.Condition, "text", r.Text, "state", c.state)
	c.hangupSIP(r)
	c.tellUser(r)
	c.close()
}

// hangupSIP ends the SIP side in the way its state allows: CANCEL before
// an answer to our INVITE, a final error to an INVITE we have not
// answered, BYE on a confirmed dialog.
func (c *call) hangupSIP(r *jingle.Reason) {
	hdr := reason.ByeHeader(r)
	switch {
	case c.dir == incoming && c.in != nil && c.state < stateAnswering:
		status, phrase := reason.CalleeStatus(r.Condition)
		if err := c.in.Reject(status, phrase, r.Text, 0); err != nil {
			c.log.Debug("reject INVITE", "err", err)
		}
	case c.sip == nil:
	case c.dir == outgoing && c.state < stateActive:
		c.sip.Cancel(hdr)
		c.sipHandedOff = true // the UA releases it when the INVITE completes
	default:
		sc, log := c.sip, c.log
		c.sipHandedOff = true
		ctx, cancel := c.callContext()
		go func() {
			defer cancel()
			defer sc.Close()
			if err := sc.Hangup(ctx, hdr); err != nil {
				log.Debug("BYE failed", "err", err)
			}
		}()
	}
}

// tellUser ends the XMPP side: the session's device gets session-terminate,
// devices still ringing are stopped, a JMI call gets its finish.
func (c *call) tellUser(r *jingle.Reason) {
	switch {
	case c.peer != "" && c.state != stateProposed:
		c.terminateUser(c.peer, r)
	case c.peer != "" && c.dir == outgoing:
		// JMI accepted but no session yet: the proposer learns it here.
		c.sendJMI(c.peer, jingle.JMIRetract, r)
	}
	c.stopRinging(c.peer, r)
	c.finishJMI(r)
}

// stopRinging stops every device still ringing for an incoming call except
// keep: rung devices get session-terminate, a JMI propose is retracted.
func (c *call) stopRinging(keep string, r *jingle.Reason) {
	for full := range c.rung {
		if full != keep {
			c.terminateUser(full, r)
		}
	}
	clear(c.rung)
	if c.proposed && c.peer == "" {
		c.sendJMI(c.u.jid, jingle.JMIRetract, r)
	}
	c.proposed = false
}

// finishJMI sends XEP-0353 <finish/> to the device of a JMI call whose
// session was set up.
func (c *call) finishJMI(r *jingle.Reason) {
	if c.jmi && c.peer != "" && c.state != stateProposed {
		c.sendJMI(c.peer, jingle.JMIFinish, r)
	}
}

// close releases the call; it is idempotent.
func (c *call) close() {
	if c.state == stateEnded {
		return
	}
	if c.answeredAt.IsZero() {
		c.u.g.stats.callsFailed.Add(1)
	}
	c.state = stateEnded
	c.disarm()
	// Releasing a relayed path waits for its sockets and goroutines; the
	// user's actor (which counts in g.wg while it runs) does not wait.
	c.u.g.wg.Go(c.media.Close)
	if c.sip != nil && !c.sipHandedOff {
		c.sip.Close()
	}
	c.u.removeCall(c)
}
