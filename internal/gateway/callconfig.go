package gateway

import (
	"time"

	"fargo.dev/fargo/internal/jingle"
)

// CallConfig bounds and tunes calls.
type CallConfig struct {
	MaxPerUser int // concurrent calls of one user; default 4
	MaxTotal   int // concurrent calls through the gateway; default 1000
	// RingTimeout ends an unanswered call in either direction (Conversations
	// itself gives up after 30 s; SIP callers expect 60 s or so).
	RingTimeout time.Duration
	// ProposeTimeout bounds the wait between a JMI proceed and the
	// session-initiate, and between a propose and any device's answer.
	ProposeTimeout time.Duration
	// GatherTimeout is how long an ICE offer without candidates waits for
	// trickled ones before the INVITE leaves (Jingle has no
	// end-of-candidates, protocol-map §2.2 step 5).
	GatherTimeout time.Duration
	// Codecs are what the users' clients are expected to take: a SIP offer
	// with none of them is refused with 488 at once instead of ringing.
	Codecs []jingle.PayloadType
}

// DefaultCodecs are the codecs every common XMPP client decodes
// (Conversations, Dino, Gajim, Monal, browsers), plus DTMF events.
func DefaultCodecs() []jingle.PayloadType {
	return []jingle.PayloadType{
		{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2},
		{ID: 9, Name: "G722", Clockrate: 8000},
		{ID: 0, Name: "PCMU", Clockrate: 8000},
		{ID: 8, Name: "PCMA", Clockrate: 8000},
		{ID: 110, Name: "telephone-event", Clockrate: 48000},
		{ID: 101, Name: "telephone-event", Clockrate: 8000},
	}
}

func (c CallConfig) withDefaults() CallConfig {
	if c.MaxPerUser <= 0 {
		c.MaxPerUser = 4
	}
	if c.MaxTotal <= 0 {
		c.MaxTotal = 1000
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = 60 * time.Second
	}
	if c.ProposeTimeout <= 0 {
		c.ProposeTimeout = 30 * time.Second
	}
	if c.GatherTimeout <= 0 {
		c.GatherTimeout = time.Second
	}
	if len(c.Codecs) == 0 {
		c.Codecs = DefaultCodecs()
	}
	return c
}
