package jinglesdp

import "fargo.dev/fargo/internal/jingle"

// Media is an SDP offer or answer parsed into Jingle terms, keeping what an
// answer to it must mirror (RFC 3264 §6: same m-lines, same order, the
// offered protos; RFC 5888 §9.1: the offered mids).
type Media struct {
	// Contents has one content per m-line, in order, so Contents[i] and
	// Lines[i] describe the same m-line. A rejected line (port 0, or not
	// RTP audio/video over UDP, such as T.38 or MSRP) becomes a content
	// with senders "none", an RTP description of its media type without
	// payload types, and no transport: it keeps its index and its name,
	// and BuildSDP answers it with port 0. Use Accepted for the contents a
	// Jingle stanza should carry.
	Contents []jingle.Content
	// Group is the first a=group (BUNDLE preferred), with mids mapped to
	// content names; rejected m-lines are left out.
	Group *jingle.Group
	// Lines has what each m-line said that Jingle cannot hold.
	Lines []MLine
	// SessionID and SessionVersion come from the peer's o= line; an
	// unchanged version means a refresh (RFC 3264 §8).
	SessionID, SessionVersion uint64
	// Hold is set when the author holds the call: c=0.0.0.0 on a non-ICE
	// m-line (RFC 2543 style, RFC 3264 §8.4) or every accepted m-line
	// sendonly or inactive from the author's point of view.
	Hold bool
	// Warnings says what was dropped or repaired and why, for debug logs.
	Warnings []string
}

// MLine is what an m-line says beyond its content.
type MLine struct {
	Media   string   // "audio", "video", "image", … as written
	Proto   string   // "RTP/AVP", "UDP/TLS/RTP/SAVPF", "udptl", … verbatim, reused in answers
	Mid     string   // a=mid, "" when absent
	Port    int      // the m-line port (0: rejected)
	Formats []string // the fmt list as written, reused for port-0 answers
	// Rejected is set for port 0 and for m-lines the gateway cannot carry
	// (not RTP audio/video over UDP, or no usable payload type).
	Rejected bool
}

// Accepted returns the contents of the m-lines that are not rejected, in
// order: what a session-initiate or session-accept built from m carries.
func (m *Media) Accepted() []jingle.Content {
	out := make([]jingle.Content, 0, len(m.Contents))
	for i, c := range m.Contents {
		if i < len(m.Lines) && !m.Lines[i].Rejected {
			out = append(out, c)
		}
	}
	return out
}

// Names returns the content names, one per m-line: what ParseSDP's names
// argument wants when the answer to this SDP is parsed.
func (m *Media) Names() []string {
	out := make([]string, len(m.Contents))
	for i, c := range m.Contents {
		out[i] = c.Name
	}
	return out
}
