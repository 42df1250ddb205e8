package iceleg

// kind is what a datagram on the leg's socket carries, told by its first
// byte as RFC 7983 §7 lays out (STUN 0–3, DTLS 20–63, RTP/RTCP 128–191)
// and, for RTP vs RTCP on an rtcp-mux socket, by its second byte
// (RFC 5761 §4: RTCP packet types 192–223 never collide with the RTP
// payload types a session may use once the marker bit is included).
type kind uint8

const (
	kindOther kind = iota // ZRTP, TURN channels, garbage: dropped
	kindSTUN
	kindDTLS
	kindRTP
	kindRTCP
)

func classify(b []byte) kind {
	if len(b) == 0 {
		return kindOther
	}
	switch c := b[0]; {
	case c <= 3:
		return kindSTUN
	case c >= 20 && c <= 63:
		return kindDTLS
	case c >= 128 && c <= 191:
		if len(b) < 2 {
			return kindOther
		}
		if pt := b[1]; pt >= 192 && pt <= 223 {
			return kindRTCP
		}
		return kindRTP
	}
	return kindOther
}

func (k kind) String() string {
	switch k {
	case kindSTUN:
		return "stun"
	case kindDTLS:
		return "dtls"
	case kindRTP:
		return "rtp"
	case kindRTCP:
		return "rtcp"
	}
	return "other"
}
