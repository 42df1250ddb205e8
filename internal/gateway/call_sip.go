package gateway

import (
	"context"
	"strconv"
	"strings"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/reason"
)

// sipEvents carries one SIP call's events to the call's actor. Posting
// never waits: the SIP layer may be inside a transaction.
type sipEvents struct{ c *call }

func (h *sipEvents) CallEvent(e SIPEvent) {
	c, arrived := h.c, time.Now()
	c.u.box.postNow(func() {
		if c.state == stateEnded {
			return
		}
		c.phaseStart = arrived
		if c.dir == outgoing {
			c.outgoingEvent(e)
		} else {
			c.incomingEvent(e)
		}
	})
}

func (h *sipEvents) Offer(ctx context.Context, offer []byte) ([]byte, error) {
	type result struct {
		sdp []byte
		err error
	}
	ch := make(chan result, 1)
	c := h.c
	if !c.u.box.postNow(func() {
		sdp, err := c.remoteOffer(offer)
		ch <- result{sdp, err}
	}) {
		return nil, &StatusError{Status: 503, Reason: "Service Unavailable"}
	}
	select {
	case r := <-ch:
		return r.sdp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dialogEvent handles what both directions share once a dialog exists.
func (c *call) dialogEvent(e SIPEvent) {
	switch e.Kind {
	case SIPBye:
		c.sipEnded(ptr(reason.FromBye(e.ReasonHeader)))
	case SIPEnded:
		c.sipEnded(jingle.NewReason(jingle.ConnectivityError, e.Reason))
	case SIPInfo:
		c.sipInfo(e.ContentType, e.Body)
	}
}

// sipInfo forwards a DTMF key sent with SIP INFO to the user's device as
// XEP-0181; other INFO packages mean nothing to a Jingle client.
func (c *call) sipInfo(contentType string, body []byte) {
	d, ok := parseDTMFInfo(contentType, body)
	if !ok || c.peer == "" {
		c.log.Debug("SIP INFO ignored", "content_type", contentType)
		return
	}
	j := c.jingleFor(jingle.ActionSessionInfo)
	j.Info = []jingle.Element{d.Element()}
	c.sendJingle(c.peer, j, nil)
}

// parseDTMFInfo reads application/dtmf-relay ("Signal=5\r\nDuration=160")
// and application/dtmf ("5") bodies.
func parseDTMFInfo(contentType string, body []byte) (jingle.DTMF, bool) {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	var d jingle.DTMF
	switch ct {
	case "application/dtmf":
		s := strings.TrimSpace(string(body))
		if len(s) != 1 {
			return d, false
		}
		d.Code = strings.ToUpper(s)[0]
	case "application/dtmf-relay":
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				if len(v) == 1 {
					d.Code = strings.ToUpper(v)[0]
				}
			case "duration":
				if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 60000 {
					d.Duration = n
				}
			}
		}
	default:
		return d, false
	}
	return d, jingle.ValidDTMF(d.Code)
}

// dtmfRelayBody renders a key as application/dtmf-relay.
func dtmfRelayBody(d jingle.DTMF) []byte {
	dur := d.Duration
	if dur <= 0 {
		dur = 100
	}
	return []byte("Signal=" + string(d.Code) + "\r\nDuration=" + strconv.Itoa(dur) + "\r\n")
}
