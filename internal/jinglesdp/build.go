package jinglesdp

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/sdp/v3"

	"fargo.dev/fargo/internal/jingle"
)

// BuildSDP renders contents as an SDP offer or answer written by author
// (which decides how senders become direction attributes, §3.2.1).
//
// Without mirror the SDP is an offer: one m-line per content, a=mid set
// to the content name, the proto derived from the content (fingerprint:
// UDP/TLS/RTP/SAVPF; SDES keys: RTP/SAVP; rtcp-fb: …AVPF; else RTP/AVP).
// With mirror, the SDP offer being answered, the answer follows it as RFC
// 3264 §6 requires: the same m-lines in the same order with the offered
// protos verbatim and a=mid only where the offer had one; an offered
// m-line that no content accepts (missing, or senders "none" without
// payload types, or rejected in the offer) is answered with port 0; and
// nothing is answered that was not offered (rtcp-mux, header extensions,
// rtcp-fb; RFC 5761 §5.1.1, XEP-0293 §4, XEP-0294 §4).
//
// a=group is written only when group is set and, for an answer, the offer
// had one (RFC 5888 §9.4). The ICE port and c= come from the default
// candidate (the highest-priority relay, else srflx, else host), or are
// port 9 and 0.0.0.0 before any candidate is known (RFC 8840); raw UDP
// takes them from the component-1 candidate. Names are written for every
// payload type, static ones included (RFC 3264 §6.1).
func BuildSDP(contents []jingle.Content, group *jingle.Group, author jingle.Role, o Origin, mirror *Media) ([]byte, error) {
	if !validRole(author) {
		return nil, fmt.Errorf("jinglesdp: author %q is not a Jingle role", author)
	}
	if !o.Address.IsValid() {
		return nil, fmt.Errorf("jinglesdp: origin without an address")
	}
	b := &builder{author: author, mirror: mirror, origin: o.Address.Unmap().WithZone("")}
	sd := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "-", SessionID: o.SessionID, SessionVersion: o.Version,
			NetworkType: "IN", AddressType: addrType(b.origin), UnicastAddress: b.origin.String(),
		},
		SessionName:      "-",
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
	var err error
	if mirror != nil {
		err = b.answerLines(contents)
	} else {
		err = b.offerLines(contents)
	}
	if err != nil {
		return nil, err
	}
	if g := b.group(group); g != "" {
		sd.Attributes = append(sd.Attributes, sdp.NewAttribute("group", g))
	}
	b.placeAllowMixed(sd)
	for _, l := range b.lines {
		sd.MediaDescriptions = append(sd.MediaDescriptions, l.md)
	}
	if err := checkLines(sd); err != nil {
		return nil, err
	}
	return sd.Marshal()
}

type builder struct {
	author jingle.Role
	mirror *Media
	origin netip.Addr
	lines  []builtLine
}

// builtLine is one m-line being written.
type builtLine struct {
	md         *sdp.MediaDescription
	name, mid  string
	accepted   bool
	allowMixed bool
}

func (b *builder) offerLines(contents []jingle.Content) error {
	for i := range contents {
		c := &contents[i]
		if c.Description == nil || !c.Description.IsRTP() {
			return fmt.Errorf("%w: content %q has no RTP description", ErrBadJingle, c.Name)
		}
		if rejects(c) {
			b.lines = append(b.lines, b.rejected(c.Name, c.Name, c.Description.Media, proto(c), ptFormats(c.Description)))
			continue
		}
		l, err := b.accepted(c, nil, proto(c), c.Name)
		if err != nil {
			return err
		}
		b.lines = append(b.lines, l)
	}
	return nil
}

func (b *builder) answerLines(contents []jingle.Content) error {
	byName := make(map[string]*jingle.Content, len(contents))
	for i := range contents {
		byName[contents[i].Name] = &contents[i]
	}
	m := b.mirror
	for i, ml := range m.Lines {
		var offered *jingle.Content
		if i < len(m.Contents) {
			offered = &m.Contents[i]
		}
		var c *jingle.Content
		if offered != nil {
			c = byName[offered.Name]
			delete(byName, offered.Name)
		}
		if c == nil || ml.Rejected || rejects(c) || c.Description == nil {
			name := ""
			if offered != nil {
				name = offered.Name
			}
			b.lines = append(b.lines, b.rejected(name, ml.Mid, ml.Media, ml.Proto, ml.Formats))
			continue
		}
		if !c.Description.IsRTP() {
			return fmt.Errorf("%w: content %q has no RTP description", ErrBadJingle, c.Name)
		}
		l, err := b.accepted(c, offered, ml.Proto, ml.Mid)
		if err != nil {
			return err
		}
		b.lines = append(b.lines, l)
	}
	for name := range byName {
		return fmt.Errorf("%w: content %q was not in the offer being answered", ErrBadJingle, name)
	}
	return nil
}

// rejects reports whether c declines its m-line: nothing sent either way
// and no payload type.
func rejects(c *jingle.Content) bool {
	return c.Senders == jingle.SendersNone && (c.Description == nil || len(c.Description.PayloadTypes) == 0)
}

// rejected writes a port-0 m-line (RFC 3264 §6, §8.2). It keeps at least
// one format, as the m-line grammar needs one.
func (b *builder) rejected(name, mid, media, proto string, formats []string) builtLine {
	if len(formats) == 0 {
		formats = []string{"0"}
	}
	md := &sdp.MediaDescription{
		MediaName:             sdp.MediaName{Media: media, Protos: strings.Split(proto, "/"), Formats: formats},
		ConnectionInformation: conn(b.origin),
	}
	if mid != "" {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("mid", mid))
	}
	return builtLine{md: md, name: name, mid: mid}
}

// proto derives the m-line proto of an offer from what the content uses
// (protocol-map §3.2).
func proto(c *jingle.Content) string {
	d := c.Description
	feedback := d != nil && hasFeedback(d)
	switch {
	case c.Transport != nil && len(c.Transport.Fingerprints) > 0:
		return "UDP/TLS/RTP/SAVPF"
	case d != nil && d.Encryption != nil && len(d.Encryption.Crypto) > 0:
		if feedback {
			return "RTP/SAVPF"
		}
		return "RTP/SAVP"
	case feedback:
		return "RTP/AVPF"
	}
	return "RTP/AVP"
}

func hasFeedback(d *jingle.Description) bool {
	if len(d.RTCPFB) > 0 || d.RTCPFBTrrInt != nil {
		return true
	}
	for _, pt := range d.PayloadTypes {
		if len(pt.RTCPFB) > 0 || pt.TrrInt != nil {
			return true
		}
	}
	return false
}

// group writes a=group with content names turned into the mids written.
func (b *builder) group(g *jingle.Group) string {
	if g == nil || (b.mirror != nil && b.mirror.Group == nil) {
		return ""
	}
	mids := make(map[string]string, len(b.lines))
	for _, l := range b.lines {
		if l.accepted && l.mid != "" {
			mids[l.name] = l.mid
		}
	}
	parts := []string{g.Semantics}
	for _, gc := range g.Contents {
		if mid, ok := mids[gc.Name]; ok {
			parts = append(parts, mid)
		}
	}
	if len(parts) == 1 || g.Semantics == "" {
		return ""
	}
	return strings.Join(parts, " ")
}

// placeAllowMixed writes a=extmap-allow-mixed once at session level when
// every accepted m-line wants it (as libwebrtc does), else per m-line.
func (b *builder) placeAllowMixed(sd *sdp.SessionDescription) {
	all, some := true, false
	for _, l := range b.lines {
		if l.accepted {
			all = all && l.allowMixed
			some = some || l.allowMixed
		}
	}
	if some && all {
		sd.Attributes = append(sd.Attributes, sdp.NewPropertyAttribute("extmap-allow-mixed"))
		return
	}
	for _, l := range b.lines {
		if l.allowMixed {
			l.md.Attributes = append(l.md.Attributes, sdp.NewPropertyAttribute("extmap-allow-mixed"))
		}
	}
}

func conn(ip netip.Addr) *sdp.ConnectionInformation {
	return &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType(ip), Address: &sdp.Address{Address: ip.String()}}
}

func addrType(ip netip.Addr) string {
	if ip.Is6() {
		return "IP6"
	}
	return "IP4"
}

// checkLines refuses output that would not survive its own grammar: a
// line break, NUL or control character inside a value would let a Jingle
// peer inject SDP lines into the SIP leg, and whitespace in an m-line
// token would shift its fields.
func checkLines(sd *sdp.SessionDescription) error {
	for _, a := range sd.Attributes {
		if err := checkText("a="+a.Key, a.Value); err != nil {
			return err
		}
	}
	for _, md := range sd.MediaDescriptions {
		mn := md.MediaName
		tokens := append([]string{mn.Media}, mn.Formats...)
		for _, t := range append(tokens, mn.Protos...) {
			if t == "" || strings.ContainsAny(t, " \t\r\n\x00") {
				return fmt.Errorf("%w: m-line token %q", ErrBadJingle, t)
			}
		}
		for _, a := range md.Attributes {
			if err := checkText("a="+a.Key, a.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkText(what, s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Errorf("%w: %s value contains a line break or NUL", ErrBadJingle, what)
	}
	return nil
}
