package jinglesdp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"fargo.dev/fargo/internal/jingle"
)

// ParseSDP parses body, an SDP written by the Jingle role author: senders
// depend on whose point of view a direction attribute takes (protocol-map
// §3.2.1), so the caller says which role the SIP peer plays.
//
// Content names are the a=mid values, else the media type ("audio",
// "video", "audio-2" for a second audio line), unless names is non-nil:
// then m-line i is named names[i] (an answer to a Jingle offer must echo
// the offer's content names). Names are made unique. Every content has
// creator "initiator", the creator of the contents of an initial offer.
//
// Session-level ICE and DTLS attributes apply to every m-line that does
// not override them (RFC 8839 §5.4). An m-line with ICE attributes or
// candidates gets an ICE-UDP transport; TCP candidates and FQDN or mDNS
// (.local) ones are dropped, and candidate ids are invented NCNames. An
// m-line without ICE gets a raw-UDP transport whose component 1 is the
// c= address and port and component 2 the a=rtcp port or port+1 (none with
// rtcp-mux). A fingerprint goes into either transport.
//
// The body is first parsed as it is; if pion/sdp refuses it, the tolerant
// normaliser reorders and repairs it and the parse is retried. An error
// wraps ErrBadSDP.
func ParseSDP(body []byte, author jingle.Role, names []string) (*Media, error) {
	if !validRole(author) {
		return nil, fmt.Errorf("jinglesdp: author %q is not a Jingle role", author)
	}
	if bytes.IndexByte(body, 0) >= 0 {
		// No SIP stack sends NUL in SDP; refusing it keeps every token
		// that reaches BuildSDP printable.
		return nil, fmt.Errorf("%w: NUL byte", ErrBadSDP)
	}
	p := &parser{author: author, names: names, m: &Media{}, used: map[string]bool{}}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		n, nerr := normalize(string(body))
		if nerr != nil {
			return nil, fmt.Errorf("%w: %v; not repairable: %v", ErrBadSDP, err, nerr)
		}
		sd = sdp.SessionDescription{}
		if err2 := sd.UnmarshalString(n.text); err2 != nil {
			return nil, fmt.Errorf("%w: %v; still after normalising: %v", ErrBadSDP, err, err2)
		}
		p.verbatim = n.mlines
		p.warn("repaired: %v", err)
		p.m.Warnings = append(p.m.Warnings, n.warnings...)
	}
	if sd.Origin.NetworkType == "" {
		// pion/sdp stops quietly at the end of the input, so an empty or
		// truncated body "parses" without its mandatory lines.
		return nil, fmt.Errorf("%w: no o= line", ErrBadSDP)
	}
	p.parse(&sd)
	return p.m, nil
}

type parser struct {
	author   jingle.Role
	names    []string
	verbatim []verbatimM
	m        *Media
	sess     sessionAttrs
	used     map[string]bool // content names given out
	ids      int             // candidate ids given out
	mids     map[string]string
}

// sessionAttrs are the session-level attributes that apply to every
// m-line unless it says otherwise.
type sessionAttrs struct {
	sec        security
	direction  string
	allowMixed bool
	groups     []string
	conn       string
}

// security is the ICE and DTLS part of an attribute list.
type security struct {
	ufrag, pwd   string
	fingerprints []jingle.Fingerprint
	setup        string
}

func (p *parser) parse(sd *sdp.SessionDescription) {
	p.m.SessionID, p.m.SessionVersion = sd.Origin.SessionID, sd.Origin.SessionVersion
	if sd.ConnectionInformation != nil && sd.ConnectionInformation.Address != nil {
		p.sess.conn = sd.ConnectionInformation.Address.Address
	}
	for _, a := range sd.Attributes {
		p.sessionAttr(a)
	}
	p.mids = map[string]string{}
	held, accepted, quiet := false, 0, 0
	for i, md := range sd.MediaDescriptions {
		lp := p.mediaLine(i, md)
		p.m.Lines = append(p.m.Lines, lp.line)
		p.m.Contents = append(p.m.Contents, lp.content)
		if lp.line.Rejected {
			continue
		}
		accepted++
		held = held || lp.heldByAddress
		if d := lp.direction; d == SendOnly || d == Inactive {
			quiet++
		}
	}
	p.m.Hold = held || (accepted > 0 && quiet == accepted)
	p.m.Group = p.group()
}

func (p *parser) sessionAttr(a sdp.Attribute) {
	if p.sess.sec.attr(a) {
		return
	}
	switch a.Key {
	case SendRecv, SendOnly, RecvOnly, Inactive:
		p.sess.direction = a.Key
	case "extmap-allow-mixed":
		p.sess.allowMixed = true
	case "group":
		p.sess.groups = append(p.sess.groups, a.Value)
	default:
		if !quietAttrs[a.Key] {
			p.warn("ignored session-level a=%s", a.Key)
		}
	}
}

// attr takes the ICE and DTLS attributes (RFC 8839 §5.4, RFC 8842) and
// reports whether a was one.
func (s *security) attr(a sdp.Attribute) bool {
	switch a.Key {
	case "ice-ufrag":
		s.ufrag = strings.TrimSpace(a.Value)
	case "ice-pwd":
		s.pwd = strings.TrimSpace(a.Value)
	case "setup":
		s.setup = strings.ToLower(strings.TrimSpace(a.Value))
	case "fingerprint":
		f := strings.Fields(a.Value)
		if len(f) == 2 {
			// Hash names are lower case in the IANA registry and in
			// XEP-0320; baresip writes SHA-256.
			s.fingerprints = append(s.fingerprints, jingle.Fingerprint{Hash: strings.ToLower(f[0]), Value: f[1]})
		}
	default:
		return false
	}
	return true
}

// quietAttrs are attributes dropped without a warning: protocol-map §3.8
// lists them as having no Jingle counterpart, or they are tool banners.
var quietAttrs = map[string]bool{
	"ice-options": true, "ice-lite": true, "end-of-candidates": true, "tls-id": true,
	"rtcp-rsize": true, "msid": true, "msid-semantic": true, "label": true,
	"content": true, "silenceSupp": true, "tool": true, "record": true,
	"rtcp-xr": true, "ice-mismatch": true, "ice-pacing": true, "mid": true,
}

// group maps the first a=group (BUNDLE preferred) to Jingle, translating
// mids into the names of accepted contents.
func (p *parser) group() *jingle.Group {
	if len(p.sess.groups) == 0 {
		return nil
	}
	pick := p.sess.groups[0]
	for _, g := range p.sess.groups {
		if strings.HasPrefix(g, "BUNDLE") {
			pick = g
			break
		}
	}
	if len(p.sess.groups) > 1 {
		p.warn("kept only a=group:%s of %d groups", pick, len(p.sess.groups))
	}
	f := strings.Fields(pick)
	if len(f) == 0 {
		return nil
	}
	rejected := map[string]bool{}
	for i, c := range p.m.Contents {
		rejected[c.Name] = p.m.Lines[i].Rejected
	}
	g := &jingle.Group{Semantics: f[0]}
	for _, mid := range f[1:] {
		// A rejected m-line leaves its BUNDLE group (RFC 8843), and the
		// Jingle stanza will not carry its content.
		if name, ok := p.mids[mid]; ok && !rejected[name] {
			g.Contents = append(g.Contents, jingle.GroupContent{Name: name})
		}
	}
	return g
}

// name picks the content name of m-line i and makes it unique.
func (p *parser) name(i int, mid, media string) string {
	base := media
	switch {
	case i < len(p.names) && p.names[i] != "":
		base = p.names[i]
	case mid != "":
		base = mid
	}
	name := base
	for n := 2; p.used[name]; n++ {
		name = base + "-" + strconv.Itoa(n)
	}
	if name != base && base != media {
		p.warn("m-line %d: name %q is taken, using %q", i, base, name)
	}
	p.used[name] = true
	if mid != "" {
		p.mids[mid] = name
	}
	return name
}

func (p *parser) warn(format string, args ...any) {
	p.m.Warnings = append(p.m.Warnings, fmt.Sprintf(format, args...))
}
