package gateway

import "fargo.dev/fargo/internal/jingle"

// setCaps remembers which client version a device runs, to ring only
// devices that can take a call.
func (u *user) setCaps(full, caps string) {
	if u.resCaps == nil {
		u.resCaps = make(map[string]string)
	}
	u.resCaps[full] = caps
}

// deviceOffline ends what a vanished device was part of: its call (the
// SIP side is hung up, XEP-0166 §6.7) or its ringing.
func (u *user) deviceOffline(full string) {
	delete(u.resCaps, full)
	for _, c := range u.calls {
		switch {
		case c.peer == full:
			c.log.Info("the device in the call went offline")
			c.userTerminated(full, jingle.NewReason(jingle.Gone, "the XMPP device went offline"))
		case c.rung[full]:
			c.userTerminated(full, jingle.NewReason(jingle.Gone, "the XMPP device went offline"))
		}
	}
}

// endAllCalls hangs up every call of the user on both sides; used when
// the gateway shuts down, since call state is not carried across a
// restart yet.
func (u *user) endAllCalls(text string) {
	for _, c := range u.calls {
		c.end(jingle.NewReason(jingle.Gone, text))
	}
}
