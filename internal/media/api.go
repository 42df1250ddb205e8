package media

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"fargo.dev/fargo/internal/media/iceleg"
)

// Config is the relay's part of the configuration.
type Config struct {
	// BindAddr is where every leg's sockets bind (0.0.0.0 by default, IPv4
	// only; "::" binds dual-stack).
	BindAddr netip.Addr
	// SIPAddr is the address announced to the SIP side (SDP c=), XMPPAddr
	// the one announced to XMPP clients (ICE host candidate, raw-UDP
	// candidate). Behind 1:1 NAT they are the public address.
	SIPAddr, XMPPAddr netip.Addr
	// PortMin..PortMax (inclusive) is the UDP range of every leg. An RTP
	// leg takes an even port and the odd one above it (RTCP); an ICE leg
	// takes one port (rtcp-mux). A call takes 4 ports (raw UDP toward
	// XMPP) or 3 (ICE), and an ICE port can split a pair, so size the
	// range at 4 per call; at least 4.
	PortMin, PortMax uint16
	// MaxSessions bounds concurrent relayed calls (ErrLimit beyond);
	// 1000 when zero.
	MaxSessions int
	// IdleTimeout ends a session (Session.Done, ErrIdle) when no RTP or
	// RTCP packet arrived from either side for this long; the clock
	// starts at Session.ExpectMedia (the answer). 60 s when zero.
	IdleTimeout time.Duration
	// LearnWindow is how long after its first packet (or after SetRemote)
	// a plain RTP leg follows a new source address (symmetric RTP for
	// phones behind NAT). Later, packets from any other source are dropped:
	// a stranger who guesses a relay port cannot pull the call's media to
	// itself. SRTP-keyed legs follow authenticated packets at any time.
	// 3 s when zero.
	LearnWindow time.Duration
	// HandshakeTimeout bounds ICE + DTLS on an ICE leg once the remote
	// credentials are set (ErrDTLS beyond). 10 s when zero.
	HandshakeTimeout time.Duration
	// Kernel chooses the in-kernel fast path (kernel_linux.go): once both
	// peers of a plain RTP call have latched, their packets are rewritten
	// and forwarded by an eBPF program at the interfaces' ingress and the
	// relay's threads no longer see them. KernelOff (the zero value)
	// relays everything in this process.
	Kernel KernelMode
}

// KernelMode is Config.Kernel.
type KernelMode uint8

const (
	// KernelOff relays every packet in this process.
	KernelOff KernelMode = iota
	// KernelAuto uses the kernel fast path when this process may load and
	// attach it (CAP_BPF and CAP_NET_ADMIN, Linux 6.6 or later), and says
	// in the log why not otherwise.
	KernelAuto
	// KernelOn requires it: NewRelay fails if it cannot be set up.
	KernelOn
)

func (m KernelMode) String() string {
	switch m {
	case KernelOff:
		return "off"
	case KernelAuto:
		return "auto"
	case KernelOn:
		return "on"
	}
	return fmt.Sprintf("KernelMode(%d)", uint8(m))
}

// Errors a session ends with (Session.Err) or that NewSession returns.
var (
	ErrLimit    = errors.New("media: relayed call limit reached")
	ErrNoPorts  = errors.New("media: no free port in the relay's range")
	ErrIdle     = errors.New("media: no media received")
	ErrDTLS     = errors.New("media: ICE or DTLS handshake failed")
	ErrClosed   = errors.New("media: closed")
	ErrBadInput = errors.New("media: bad parameters")
)

// Codec is one payload type as a side numbers it. Name is matched without
// regard to case; Channels 0 means 1.
type Codec struct {
	PT       uint8
	Name     string
	Clock    uint32
	Channels uint8
}

// The XMPP-side ICE + DTLS vocabulary is internal/media/iceleg's.
type (
	Candidate   = iceleg.Candidate
	Fingerprint = iceleg.Fingerprint
	RemoteICE   = iceleg.RemoteICE
)

// Stats is a snapshot of the relay's counters.
type Stats struct {
	SessionsActive  int
	SessionsTotal   uint64 // sessions created
	SessionsRefused uint64 // NewSession refused by MaxSessions
	Packets, Bytes  uint64 // relayed RTP and RTCP, both directions
	Lost            uint64 // RTP packets missing by sequence number, both directions
	Dropped         uint64 // packets not relayed (no peer address yet, unknown source, bad SRTP)
	KernelPackets   uint64 // of Packets, those forwarded by the kernel fast path
	KernelSessions  int    // active sessions with at least one direction in the kernel
	DTLSFailures    uint64
	IdleTimeouts    uint64
}
