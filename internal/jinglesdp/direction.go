package jinglesdp

import "fargo.dev/fargo/internal/jingle"

// SDP direction attributes (RFC 8866 §6.7).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// SendersFor maps the direction attribute of an SDP written by author to
// Jingle senders. SDP directions are relative to their author while
// senders names a Jingle role, so the same a=sendonly means "initiator"
// from the initiator and "responder" from the responder (protocol-map
// §3.2.1). A missing or unknown direction is sendrecv (RFC 8866 §6.7). An
// author other than RoleResponder is taken as the initiator.
func SendersFor(direction string, author jingle.Role) jingle.Senders {
	switch direction {
	case SendOnly:
		return roleSenders(author)
	case RecvOnly:
		return roleSenders(otherRole(author))
	case Inactive:
		return jingle.SendersNone
	default:
		return jingle.SendersBoth
	}
}

// DirectionFor is the inverse of SendersFor: the direction attribute that
// says s in an SDP written by author. Absent or unknown senders are both.
func DirectionFor(s jingle.Senders, author jingle.Role) string {
	switch s.Normalize() {
	case jingle.SendersNone:
		return Inactive
	case jingle.SendersInitiator, jingle.SendersResponder:
		if s == roleSenders(author) {
			return SendOnly
		}
		return RecvOnly
	default:
		return SendRecv
	}
}

// HoldDirection is the direction to offer when the gateway's side puts the
// stream on hold (RFC 3264 §8.4, protocol-map §2.4): it stops receiving
// but may keep sending, so sendrecv becomes sendonly and recvonly (the
// other side already holds) becomes inactive. Other values are unchanged;
// "" counts as sendrecv.
func HoldDirection(current string) string {
	switch current {
	case SendRecv, "":
		return SendOnly
	case RecvOnly:
		return Inactive
	default:
		return current
	}
}

// ResumeDirection undoes HoldDirection: sendonly becomes sendrecv and
// inactive becomes recvonly (the other side still holds). Other values are
// unchanged; "" counts as sendrecv.
func ResumeDirection(current string) string {
	switch current {
	case SendOnly, "":
		return SendRecv
	case Inactive:
		return RecvOnly
	default:
		return current
	}
}

func roleSenders(r jingle.Role) jingle.Senders {
	if r == jingle.RoleResponder {
		return jingle.SendersResponder
	}
	return jingle.SendersInitiator
}

func otherRole(r jingle.Role) jingle.Role {
	if r == jingle.RoleResponder {
		return jingle.RoleInitiator
	}
	return jingle.RoleResponder
}

func validRole(r jingle.Role) bool {
	return r == jingle.RoleInitiator || r == jingle.RoleResponder
}
