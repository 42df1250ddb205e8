package jinglesdp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"fargo.dev/fargo/internal/jingle"
)

// accepted writes the m-line of a content that takes part in the call.
// offered is the content of the mirrored offer (nil for an offer).
func (b *builder) accepted(c *jingle.Content, offered *jingle.Content, proto, mid string) (builtLine, error) {
	d := c.Description
	if len(d.PayloadTypes) == 0 {
		return builtLine{}, fmt.Errorf("%w: content %q has no payload type", ErrBadJingle, c.Name)
	}
	var od *jingle.Description
	if offered != nil {
		od = offered.Description
	}
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{Media: d.Media, Protos: strings.Split(proto, "/"), Formats: ptFormats(d)}}
	a := attrs{}
	if mid != "" {
		a.add("mid", mid)
	}
	a.add(DirectionFor(c.Senders, b.author), "")
	port, ip := b.transportAttrs(&a, c)
	md.MediaName.Port.Value = port
	md.ConnectionInformation = conn(ip)
	if d.Bandwidth != nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(d.Bandwidth.Value), 10, 64); err == nil && knownBandwidth(d.Bandwidth.Type) {
			md.Bandwidth = []sdp.Bandwidth{{Type: d.Bandwidth.Type, Bandwidth: n}}
		}
	}
	if d.Encryption != nil {
		for _, cr := range d.Encryption.Crypto {
			a.add("crypto", joinNonEmpty(cr.Tag, cr.Suite, cr.KeyParams, cr.SessionParams))
		}
	}
	if d.RTCPMux != nil && (od == nil || od.RTCPMux != nil) {
		a.add("rtcp-mux", "")
	}
	if c.Transport.IsRawUDP() && (d.RTCPMux == nil || (od != nil && od.RTCPMux == nil)) {
		rtcpAttr(&a, c.Transport)
	}
	writeFeedback(&a, "*", d.RTCPFB, d.RTCPFBTrrInt, od, nil)
	for _, pt := range d.PayloadTypes {
		writePayloadType(&a, pt, d.Media, od)
	}
	writePtime(&a, d.PayloadTypes)
	b.writeExtmaps(&a, d.HdrExts, od)
	writeSources(&a, d)
	a.list = append(a.list, a.cands...)
	md.Attributes = a.list
	return builtLine{md: md, name: c.Name, mid: mid, accepted: true, allowMixed: d.ExtmapAllowMixed != nil}, nil
}

// attrs collects an m-line's attributes; candidates go last.
type attrs struct {
	list  []sdp.Attribute
	cands []sdp.Attribute
}

func (a *attrs) add(key, value string) {
	a.list = append(a.list, sdp.Attribute{Key: key, Value: value})
}

func ptFormats(d *jingle.Description) []string {
	out := make([]string, len(d.PayloadTypes))
	for i, pt := range d.PayloadTypes {
		out[i] = strconv.Itoa(int(pt.ID))
	}
	return out
}

// writePayloadType writes rtpmap (always, static payload types included),
// rtcp-fb and fmtp of one payload type.
func writePayloadType(a *attrs, pt jingle.PayloadType, media string, od *jingle.Description) {
	id := strconv.Itoa(int(pt.ID))
	if e := effective(pt, media); e.Name != "" {
		a.add("rtpmap", id+" "+codecString(e))
	}
	var offered *jingle.PayloadType
	if od != nil {
		if i := slices.IndexFunc(od.PayloadTypes, func(o jingle.PayloadType) bool { return o.ID == pt.ID }); i >= 0 {
			offered = &od.PayloadTypes[i]
		}
	}
	writeFeedback(a, id, pt.RTCPFB, pt.TrrInt, od, offered)
	if len(pt.Params) > 0 {
		a.add("fmtp", id+" "+fmtpValue(pt.Params))
	}
}

// fmtpValue joins parameters with ";" (most stacks write no space). A
// parameter without a name, or named "events" (stox-media's spelling for
// telephone-event), is written bare: RFC 4733 §2.4.1 has no "events=".
func fmtpValue(params []jingle.Parameter) string {
	parts := make([]string, len(params))
	for i, p := range params {
		if p.Name == "" || p.Name == "events" {
			parts[i] = p.Value
		} else {
			parts[i] = p.Name + "=" + p.Value
		}
	}
	return strings.Join(parts, ";")
}

// writeFeedback writes rtcp-fb lines for id ("*" or a payload type). In an
// answer only feedback the offer had for the same payload type (or for
// "*") is kept (XEP-0293 §4).
func writeFeedback(a *attrs, id string, fbs []jingle.RTCPFB, trr *jingle.TrrInt, od *jingle.Description, offered *jingle.PayloadType) {
	for _, fb := range fbs {
		if od != nil && !feedbackOffered(fb, od, offered) {
			continue
		}
		a.add("rtcp-fb", joinNonEmpty(id, fb.Type, fb.Subtype))
	}
	if trr != nil && (od == nil || od.RTCPFBTrrInt != nil || (offered != nil && offered.TrrInt != nil)) {
		a.add("rtcp-fb", id+" trr-int "+strconv.FormatUint(uint64(trr.Value), 10))
	}
}

func feedbackOffered(fb jingle.RTCPFB, od *jingle.Description, offered *jingle.PayloadType) bool {
	if slices.Contains(od.RTCPFB, fb) {
		return true
	}
	return offered != nil && slices.Contains(offered.RTCPFB, fb)
}

// writePtime writes the first payload type's ptime and maxptime that are
// set: SDP has one per m-line, Jingle one per payload type, and the first
// payload type is the preferred one (protocol-map §3.3).
func writePtime(a *attrs, pts []jingle.PayloadType) {
	var ptime, maxptime uint32
	for _, pt := range pts {
		if ptime == 0 {
			ptime = pt.Ptime
		}
		if maxptime == 0 {
			maxptime = pt.Maxptime
		}
	}
	if ptime > 0 {
		a.add("ptime", strconv.FormatUint(uint64(ptime), 10))
	}
	if maxptime > 0 {
		a.add("maxptime", strconv.FormatUint(uint64(maxptime), 10))
	}
}

// writeExtmaps writes header extensions with the author's direction; an
// answer keeps only URIs the offer had (XEP-0294 §4).
func (b *builder) writeExtmaps(a *attrs, exts []jingle.HdrExt, od *jingle.Description) {
	for _, h := range exts {
		if od != nil && !slices.ContainsFunc(od.HdrExts, func(o jingle.HdrExt) bool { return o.URI == h.URI }) {
			continue
		}
		id := strconv.Itoa(int(h.ID))
		if s := h.Senders.Normalize(); s != jingle.SendersBoth && s != "" {
			id += "/" + DirectionFor(s, b.author)
		}
		a.add("extmap", id+" "+h.URI)
	}
}

// writeSources writes ssrc-group and ssrc lines (XEP-0339); a parameter
// without value is written as a bare attribute name.
func writeSources(a *attrs, d *jingle.Description) {
	for _, g := range d.SSRCGroups {
		if len(g.Sources) == 0 {
			continue
		}
		parts := []string{g.Semantics}
		for _, s := range g.Sources {
			parts = append(parts, strconv.FormatUint(uint64(s.SSRC), 10))
		}
		a.add("ssrc-group", strings.Join(parts, " "))
	}
	for _, s := range d.Sources {
		id := strconv.FormatUint(uint64(s.SSRC), 10)
		if len(s.Params) == 0 {
			a.add("ssrc", id)
		}
		for _, p := range s.Params {
			v := id + " " + p.Name
			if p.Value != "" {
				v += ":" + p.Value
			}
			a.add("ssrc", v)
		}
	}
}

func joinNonEmpty(parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}
