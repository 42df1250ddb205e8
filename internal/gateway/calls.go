package gateway

import "fargo.dev/fargo/internal/stanza"

// addCall registers c with its user and the gateway-wide count, or
// returns the error to give the caller when a limit is reached.
func (u *user) addCall(c *call) *stanza.Error {
	lim := u.g.cfg.Calls
	if len(u.calls) >= lim.MaxPerUser {
		u.g.stats.callsRefused.Add(1)
		return stanza.Errorf(stanza.TypeWait, stanza.ResourceConstraint,
			"call limit reached: at most %d calls at a time per user", lim.MaxPerUser)
	}
	if n := u.g.activeCalls.Add(1); n > int64(lim.MaxTotal) {
		u.g.activeCalls.Add(-1)
		u.g.stats.callsRefused.Add(1)
		return stanza.Errorf(stanza.TypeWait, stanza.ResourceConstraint,
			"the gateway is at its limit of %d calls; try again later", lim.MaxTotal)
	}
	if u.calls == nil {
		u.calls = make(map[string]*call)
	}
	u.calls[c.sid] = c
	u.g.stats.callsStarted.Add(1)
	return nil
}

// removeCall forgets an ended call.
func (u *user) removeCall(c *call) {
	if u.calls[c.sid] != c {
		return
	}
	delete(u.calls, c.sid)
	u.g.activeCalls.Add(-1)
}

// callBySID finds the user's call with Jingle/JMI id sid.
func (u *user) callBySID(sid string) *call { return u.calls[sid] }
