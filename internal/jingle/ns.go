package jingle

// Namespaces of the Jingle family (protocol-map §3).
const (
	NS          = "urn:xmpp:jingle:1"
	NSErrors    = "urn:xmpp:jingle:errors:1"
	NSRTP       = "urn:xmpp:jingle:apps:rtp:1"
	NSRTPInfo   = "urn:xmpp:jingle:apps:rtp:info:1"
	NSRTPErrors = "urn:xmpp:jingle:apps:rtp:errors:1"
	NSRTPAudio  = "urn:xmpp:jingle:apps:rtp:audio"
	NSRTPVideo  = "urn:xmpp:jingle:apps:rtp:video"
	NSICEUDP    = "urn:xmpp:jingle:transports:ice-udp:1"
	NSRawUDP    = "urn:xmpp:jingle:transports:raw-udp:1"
	NSDTLS      = "urn:xmpp:jingle:apps:dtls:0"
	NSRTCPFB    = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
	NSHdrExt    = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
	NSGrouping  = "urn:xmpp:jingle:apps:grouping:0"
	NSSSMA      = "urn:xmpp:jingle:apps:rtp:ssma:0"
	NSJMI       = "urn:xmpp:jingle-message:0"
	NSDTMF      = "urn:xmpp:jingle:dtmf:0"
	// NSSIPStatus carries the SIP status behind a reason, for clients and
	// logs that want the number (protocol-map §4: never un-namespaced).
	NSSIPStatus = "urn:xmpp:fargo:sip:0"
)

// Action is a Jingle action (XEP-0166 §7.2).
type Action string

// Actions the gateway handles.
const (
	ActionSessionInitiate  Action = "session-initiate"
	ActionSessionAccept    Action = "session-accept"
	ActionSessionTerminate Action = "session-terminate"
	ActionSessionInfo      Action = "session-info"
	ActionTransportInfo    Action = "transport-info"
	ActionContentModify    Action = "content-modify"
	ActionContentAdd       Action = "content-add"
	ActionContentAccept    Action = "content-accept"
	ActionContentReject    Action = "content-reject"
	ActionContentRemove    Action = "content-remove"
	ActionDescriptionInfo  Action = "description-info"
	ActionTransportReplace Action = "transport-replace"
	ActionTransportAccept  Action = "transport-accept"
	ActionTransportReject  Action = "transport-reject"
	ActionSecurityInfo     Action = "security-info"
)

// Role is a party of a Jingle session.
type Role string

// Roles, as used in senders and creator.
const (
	RoleInitiator Role = "initiator"
	RoleResponder Role = "responder"
)

// Senders says which roles send media in a content (XEP-0166 §7.3).
type Senders string

// Values of senders; empty means both.
const (
	SendersBoth      Senders = "both"
	SendersInitiator Senders = "initiator"
	SendersResponder Senders = "responder"
	SendersNone      Senders = "none"
)

// Normalize maps the absent value to both and unknown values to "".
func (s Senders) Normalize() Senders {
	switch s {
	case "", SendersBoth:
		return SendersBoth
	case SendersInitiator, SendersResponder, SendersNone:
		return s
	default:
		return ""
	}
}
