package jinglesdp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// pion/sdp follows the RFC 8866 grammar to the letter (pion/sdp#163) and
// rejects SDP that real SIP devices send: t= before c= at session level, a
// missing t= or s=, LF-less last lines, unknown line types, and m-lines
// whose media or proto it does not list (m=image … udptl t38). normalize
// rewrites such a body into the grammar's order so that a second parse
// succeeds. It is only the fallback after a strict parse failed, so
// well-formed SDP never pays for it.

// Media and proto tokens pion/sdp accepts on an m-line.
var (
	pionMedia  = []string{"audio", "video", "text", "application", "message"}
	pionProtos = []string{"UDP", "RTP", "AVP", "SAVP", "SAVPF", "TLS", "DTLS", "SCTP", "AVPF", "TCP", "MSRP", "BFCP", "UDT", "IX", "MRCPv2", "FEC"}
)

// verbatimM is an m-line as the peer wrote it, kept when normalize had to
// disguise it for pion/sdp.
type verbatimM struct{ media, proto string }

type normalized struct {
	text     string
	mlines   []verbatimM
	warnings []string
}

// sessionRank orders the session-level lines pion/sdp needs (RFC 8866 §5);
// types not listed are dropped: i= u= e= p= z= k= r= carry nothing the
// gateway uses and pion/sdp is strict about several of them.
var sessionRank = map[byte]int{'v': 0, 'o': 1, 's': 2, 'c': 3, 'b': 4, 't': 5, 'a': 6}

// mediaRank orders the media-level lines (m= first, then c= b= a=).
var mediaRank = map[byte]int{'m': 0, 'c': 1, 'b': 2, 'a': 3}

type sdpLine struct {
	typ byte
	val string
}

func normalize(body string) (*normalized, error) {
	n := &normalized{}
	session, media := splitSections(body, n)
	if !slices.ContainsFunc(session, func(l sdpLine) bool { return l.typ == 'o' }) {
		// Without an origin it is not an SDP body gone slightly wrong
		// but something else: do not invent one.
		return nil, errors.New("no o= line")
	}
	var b strings.Builder
	n.writeSession(&b, session)
	for _, lines := range media {
		if err := n.writeMedia(&b, lines); err != nil {
			return nil, err
		}
	}
	n.text = b.String()
	return n, nil
}

// splitSections cuts body into lines, trims them, drops what is not a
// "x=" line and groups the rest into the session part and one part per
// m-line.
func splitSections(body string, n *normalized) (session []sdpLine, media [][]sdpLine) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	for raw := range strings.SplitSeq(body, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			n.warn("dropped a line that is not type=value: %.40q", line)
			continue
		}
		l := sdpLine{typ: line[0], val: strings.TrimSpace(line[2:])}
		switch {
		case l.typ == 'm':
			media = append(media, []sdpLine{l})
		case len(media) > 0:
			media[len(media)-1] = append(media[len(media)-1], l)
		default:
			session = append(session, l)
		}
	}
	return session, media
}

func (n *normalized) writeSession(b *strings.Builder, lines []sdpLine) {
	byRank := func(x, y sdpLine) int { return rank(sessionRank, x.typ) - rank(sessionRank, y.typ) }
	if !slices.IsSortedFunc(lines, byRank) {
		n.warn("reordered the session-level lines into RFC 8866 order")
		slices.SortStableFunc(lines, byRank)
	}
	b.WriteString("v=0\r\n")
	seen := map[byte]bool{}
	for _, l := range lines {
		if l.typ == 'v' {
			continue // always written as v=0 above
		}
		n.fillBefore(b, seen, l.typ)
		if val, ok := n.sessionValue(l, seen); ok {
			writeLine(b, l.typ, val)
			seen[l.typ] = true
		}
	}
	n.fillBefore(b, seen, 'm')
}

// fillBefore inserts the mandatory lines that must precede a line of type
// next and were missing: s=- after o=, t=0 0 before the attributes and
// media.
func (n *normalized) fillBefore(b *strings.Builder, seen map[byte]bool, next byte) {
	if !seen['s'] && next != 's' && next != 'o' {
		writeLine(b, 's', "-")
		seen['s'] = true
	}
	if !seen['t'] && (next == 'a' || next == 'm') {
		n.warn("inserted a missing t=0 0 line")
		writeLine(b, 't', "0 0")
		seen['t'] = true
	}
}

// sessionValue checks one session line and returns the value to write.
func (n *normalized) sessionValue(l sdpLine, seen map[byte]bool) (string, bool) {
	_, known := sessionRank[l.typ]
	switch {
	case !known:
		n.warn("dropped session-level %c= line", l.typ)
		return "", false
	case (l.typ == 'o' || l.typ == 's' || l.typ == 'c') && seen[l.typ]:
		return "", false
	case l.typ == 'o':
		if v, ok := origin(l.val); ok {
			return v, true
		}
		n.warn("replaced a malformed o= line")
		return "- 0 0 IN IP4 0.0.0.0", true
	case l.typ == 's' && l.val == "":
		return "-", true
	}
	return n.commonValue(l)
}

// commonValue checks the line types shared by both levels.
func (n *normalized) commonValue(l sdpLine) (string, bool) {
	var v string
	var ok bool
	switch l.typ {
	case 'c':
		v, ok = connection(l.val)
	case 'b':
		v, ok = bandwidth(l.val)
	case 't':
		v, ok = timing(l.val)
	default:
		return l.val, true
	}
	if !ok {
		n.warn("dropped a malformed %c= line", l.typ)
	}
	return v, ok
}

func (n *normalized) writeMedia(b *strings.Builder, lines []sdpLine) error {
	m := fields(lines[0].val)
	if len(m) < 3 {
		return fmt.Errorf("m-line %q has fewer than three fields", lines[0].val)
	}
	n.mlines = append(n.mlines, verbatimM{media: m[0], proto: m[2]})
	if _, err := port(m[1]); err != nil {
		return fmt.Errorf("m-line %q: bad port", lines[0].val)
	}
	if !slices.Contains(pionMedia, m[0]) {
		m[0] = "application"
	}
	protos := strings.Split(m[2], "/")
	if slices.Contains(protos, "") {
		// Answers reuse the proto verbatim: it must stay a proto.
		return fmt.Errorf("m-line %q: empty proto part", lines[0].val)
	}
	if slices.ContainsFunc(protos, func(p string) bool { return !slices.Contains(pionProtos, p) }) {
		m[2] = "UDP"
	}
	writeLine(b, 'm', strings.Join(m, " "))
	rest := lines[1:]
	slices.SortStableFunc(rest, func(x, y sdpLine) int { return rank(mediaRank, x.typ) - rank(mediaRank, y.typ) })
	seenC := false
	for _, l := range rest {
		if _, known := mediaRank[l.typ]; !known || l.typ == 'm' || (l.typ == 'c' && seenC) {
			n.warn("dropped media-level %c= line", l.typ)
			continue
		}
		if v, ok := n.commonValue(l); ok {
			writeLine(b, l.typ, v)
			seenC = seenC || l.typ == 'c'
		}
	}
	return nil
}

func (n *normalized) warn(format string, args ...any) {
	n.warnings = append(n.warnings, fmt.Sprintf(format, args...))
}

func rank(ranks map[byte]int, t byte) int {
	if r, ok := ranks[t]; ok {
		return r
	}
	return len(ranks)
}

func writeLine(b *strings.Builder, typ byte, val string) {
	b.WriteByte(typ)
	b.WriteByte('=')
	b.WriteString(val)
	b.WriteString("\r\n")
}
