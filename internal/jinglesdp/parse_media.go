package jinglesdp

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"fargo.dev/fargo/internal/jingle"
)

// parsedLine is one m-line turned into a content.
type parsedLine struct {
	line          MLine
	content       jingle.Content
	direction     string // after applying a c=0.0.0.0 hold
	heldByAddress bool
}

// lineState gathers one m-line's attributes before they become Jingle.
type lineState struct {
	d         *jingle.Description
	pts       map[uint8]int // payload type id -> index in d.PayloadTypes
	sec       security
	direction string
	cands     []string // a=candidate values
	rtcp      string   // a=rtcp value
	ptime     uint32
	maxptime  uint32
	proto     string
}

func (p *parser) mediaLine(i int, md *sdp.MediaDescription) parsedLine {
	mn := md.MediaName
	line := MLine{
		Media: mn.Media, Proto: strings.Join(mn.Protos, "/"), Port: mn.Port.Value,
		Formats: slices.Clone(mn.Formats),
	}
	if i < len(p.verbatim) {
		line.Media, line.Proto = p.verbatim[i].media, p.verbatim[i].proto
	}
	line.Mid, _ = md.Attribute("mid")
	line.Mid = strings.TrimSpace(line.Mid)
	name := p.name(i, line.Mid, line.Media)
	pl := parsedLine{line: line}
	pl.content = jingle.Content{Creator: jingle.RoleInitiator, Name: name, Senders: jingle.SendersNone,
		Description: jingle.NewDescription(line.Media)}
	switch {
	case line.Port == 0:
		pl.line.Rejected = true
		return pl
	case !carriable(line.Media, line.Proto):
		p.warn("m-line %d (%s %s) is not RTP audio or video over UDP: rejected", i, line.Media, line.Proto)
		pl.line.Rejected = true
		return pl
	}
	st := &lineState{d: pl.content.Description, pts: map[uint8]int{}, sec: p.sess.sec, direction: p.sess.direction, proto: line.Proto}
	st.sec.fingerprints = slices.Clone(st.sec.fingerprints)
	p.payloadTypes(i, st, mn.Formats)
	if p.sess.allowMixed {
		st.d.ExtmapAllowMixed = &jingle.Empty{}
	}
	mediaSec := security{}
	for _, a := range md.Attributes {
		if mediaSec.attr(a) {
			continue
		}
		p.mediaAttr(i, st, a)
	}
	st.sec.override(mediaSec)
	p.finishPayloadTypes(i, st)
	if len(st.d.PayloadTypes) == 0 {
		p.warn("m-line %d has no usable payload type: rejected", i)
		pl.line.Rejected = true
		st.d.PayloadTypes = nil
		return pl
	}
	if st.direction == "" {
		st.direction = SendRecv
	}
	addr := p.sess.conn
	if md.ConnectionInformation != nil && md.ConnectionInformation.Address != nil {
		addr = md.ConnectionInformation.Address.Address
	}
	tr, heldByAddress := p.transport(i, st, addr, line.Port)
	if heldByAddress {
		// c=0.0.0.0 says "do not send to me" whatever the direction
		// attribute claims (RFC 3264 §8.4).
		st.direction = HoldDirection(st.direction)
	}
	pl.content.Senders = SendersFor(st.direction, p.author)
	pl.content.Transport = tr
	if len(md.Bandwidth) > 0 {
		st.d.Bandwidth = bandwidthOf(md.Bandwidth)
	}
	pl.direction, pl.heldByAddress = st.direction, heldByAddress
	return pl
}

// carriable reports whether an m-line is RTP audio or video over UDP,
// the only kind Jingle RTP over ICE-UDP or raw UDP can take.
func carriable(media, proto string) bool {
	if media != "audio" && media != "video" {
		return false
	}
	parts := strings.Split(strings.ToUpper(proto), "/")
	return slices.Contains(parts, "RTP") && !slices.Contains(parts, "TCP")
}

// override applies media-level ICE/DTLS attributes over session-level
// ones (RFC 8839 §5.4).
func (s *security) override(m security) {
	if m.ufrag != "" {
		s.ufrag = m.ufrag
	}
	if m.pwd != "" {
		s.pwd = m.pwd
	}
	if m.setup != "" {
		s.setup = m.setup
	}
	if len(m.fingerprints) > 0 {
		s.fingerprints = m.fingerprints
	}
}

// payloadTypes creates the payload types in m-line order, which is the
// preference order (RFC 3264 §6.1), not the order of the rtpmap lines.
func (p *parser) payloadTypes(i int, st *lineState, formats []string) {
	for _, f := range formats {
		id, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			p.warn("m-line %d: format %.20q is not an RTP payload type", i, f)
			continue
		}
		if _, dup := st.pts[uint8(id)]; dup {
			continue
		}
		st.pts[uint8(id)] = len(st.d.PayloadTypes)
		st.d.PayloadTypes = append(st.d.PayloadTypes, jingle.PayloadType{ID: uint8(id)})
	}
}

// pt returns the payload type an attribute names, or nil when the m-line
// does not list it.
func (st *lineState) pt(s string) *jingle.PayloadType {
	id, err := strconv.ParseUint(s, 10, 7)
	if err != nil {
		return nil
	}
	if i, ok := st.pts[uint8(id)]; ok {
		return &st.d.PayloadTypes[i]
	}
	return nil
}

func (p *parser) mediaAttr(i int, st *lineState, a sdp.Attribute) {
	v := strings.TrimSpace(a.Value)
	switch a.Key {
	case SendRecv, SendOnly, RecvOnly, Inactive:
		st.direction = a.Key
	case "rtpmap":
		p.rtpmap(i, st, v)
	case "fmtp":
		id, params, _ := strings.Cut(v, " ")
		if pt := st.pt(id); pt != nil {
			pt.Params = append(pt.Params, fmtpParams(params)...)
		}
	case "rtcp-fb":
		rtcpFB(st, v)
	case "ptime", "maxptime":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || !(n > 0 && n <= 1e6) {
			p.warn("m-line %d: bad a=%s:%.20q", i, a.Key, v)
		} else if a.Key == "ptime" {
			st.ptime = uint32(n + 0.5)
		} else {
			st.maxptime = uint32(n + 0.5)
		}
	case "rtcp-mux":
		st.d.RTCPMux = &jingle.Empty{}
	case "rtcp":
		st.rtcp = v
	case "extmap":
		p.extmap(i, st, v)
	case "extmap-allow-mixed":
		st.d.ExtmapAllowMixed = &jingle.Empty{}
	case "ssrc":
		ssrc(st.d, v)
	case "ssrc-group":
		ssrcGroup(st.d, v)
	case "crypto":
		p.crypto(i, st, v)
	case "candidate":
		st.cands = append(st.cands, v)
	default:
		if !quietAttrs[a.Key] {
			p.warn("m-line %d: ignored a=%s", i, a.Key)
		}
	}
}

// rtpmap reads "<pt> <name>/<clock>[/<channels>]".
func (p *parser) rtpmap(i int, st *lineState, v string) {
	f := strings.Fields(v)
	if len(f) != 2 {
		p.warn("m-line %d: bad a=rtpmap:%.40q", i, v)
		return
	}
	pt := st.pt(f[0])
	if pt == nil {
		return
	}
	parts := strings.Split(f[1], "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		p.warn("m-line %d: bad a=rtpmap:%.40q", i, v)
		return
	}
	clock, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		p.warn("m-line %d: bad clock rate in a=rtpmap:%.40q", i, v)
		return
	}
	pt.Name, pt.Clockrate = parts[0], uint32(clock)
	if len(parts) == 3 {
		ch, err := strconv.ParseUint(parts[2], 10, 8)
		if err != nil {
			p.warn("m-line %d: bad channels in a=rtpmap:%.40q", i, v)
		}
		pt.Channels = uint8(ch)
	}
}

// finishPayloadTypes fills in static payload types without rtpmap,
// applies the known clock and channel quirks, and copies ptime/maxptime to
// every payload type (XEP-0167 §6 keeps them per payload type).
func (p *parser) finishPayloadTypes(i int, st *lineState) {
	kept := st.d.PayloadTypes[:0]
	for _, pt := range st.d.PayloadTypes {
		if pt.Name == "" {
			if _, ok := static(pt.ID); !ok {
				p.warn("m-line %d: dynamic payload type %d has no a=rtpmap: dropped", i, pt.ID)
				continue
			}
		}
		e := effective(pt, st.d.Media)
		if pt.Name != "" && pt.Clockrate != e.Clockrate {
			p.warn("m-line %d: %s clock rate %d corrected to %d", i, pt.Name, pt.Clockrate, e.Clockrate)
		}
		e.Ptime, e.Maxptime = st.ptime, st.maxptime
		kept = append(kept, e)
	}
	st.d.PayloadTypes = kept
}

// fmtpParams splits "k=v;k2=v2" (tolerating "; " and spaces) into
// parameters; a token without "=" (telephone-event "0-15", red "111/111")
// becomes a parameter with an empty name.
func fmtpParams(s string) []jingle.Parameter {
	var out []jingle.Parameter
	for tok := range strings.SplitSeq(s, ";") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			k, v = "", tok
		}
		out = append(out, jingle.Parameter{Name: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	}
	return out
}

// rtcpFB reads "<pt>|* <type> [<subtype>]" and "<pt>|* trr-int <n>"
// (XEP-0293).
func rtcpFB(st *lineState, v string) {
	f := strings.Fields(v)
	if len(f) < 2 {
		return
	}
	var trr **jingle.TrrInt
	var fbs *[]jingle.RTCPFB
	if f[0] == "*" {
		trr, fbs = &st.d.RTCPFBTrrInt, &st.d.RTCPFB
	} else if pt := st.pt(f[0]); pt != nil {
		trr, fbs = &pt.TrrInt, &pt.RTCPFB
	} else {
		return
	}
	if f[1] == "trr-int" {
		if len(f) > 2 {
			if n, err := strconv.ParseUint(f[2], 10, 32); err == nil {
				*trr = &jingle.TrrInt{Value: uint32(n)}
			}
		}
		return
	}
	fb := jingle.RTCPFB{Type: f[1]}
	if len(f) > 2 {
		fb.Subtype = strings.Join(f[2:], " ")
	}
	*fbs = append(*fbs, fb)
}

// extmap reads "<id>[/<direction>] <uri> [<attributes>]" (RFC 8285); the
// direction is the author's, like a=sendonly (protocol-map §3.4).
func (p *parser) extmap(i int, st *lineState, v string) {
	f := strings.Fields(v)
	if len(f) < 2 {
		p.warn("m-line %d: bad a=extmap:%.40q", i, v)
		return
	}
	idStr, dir, hasDir := strings.Cut(f[0], "/")
	id, err := strconv.ParseUint(idStr, 10, 16)
	if err != nil {
		p.warn("m-line %d: bad a=extmap:%.40q", i, v)
		return
	}
	h := jingle.HdrExt{ID: uint16(id), URI: f[1]}
	if hasDir {
		h.Senders = SendersFor(dir, p.author)
	}
	if len(f) > 2 {
		p.warn("m-line %d: dropped the attributes of a=extmap:%d", i, id)
	}
	st.d.HdrExts = append(st.d.HdrExts, h)
}

// ssrc reads "<ssrc> <attribute>[:<value>]" into the source's parameters
// (XEP-0339 §2.1).
func ssrc(d *jingle.Description, v string) {
	idStr, rest, _ := strings.Cut(v, " ")
	id, err := strconv.ParseUint(idStr, 10, 32)
	if err != nil {
		return
	}
	i := slices.IndexFunc(d.Sources, func(s jingle.Source) bool { return s.SSRC == uint32(id) })
	if i < 0 {
		d.Sources = append(d.Sources, jingle.Source{SSRC: uint32(id)})
		i = len(d.Sources) - 1
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		k, val, _ := strings.Cut(rest, ":")
		d.Sources[i].Params = append(d.Sources[i].Params, jingle.Parameter{Name: k, Value: val})
	}
}

// ssrcGroup reads "<semantics> <ssrc>…" (XEP-0339 §2.2).
func ssrcGroup(d *jingle.Description, v string) {
	f := strings.Fields(v)
	if len(f) < 2 {
		return
	}
	g := jingle.SSRCGroup{Semantics: f[0]}
	for _, s := range f[1:] {
		if id, err := strconv.ParseUint(s, 10, 32); err == nil {
			g.Sources = append(g.Sources, jingle.Source{SSRC: uint32(id)})
		}
	}
	d.SSRCGroups = append(d.SSRCGroups, g)
}

// crypto reads an SDES line "<tag> <suite> <key-params> [<session-params>]"
// (RFC 4568); a SAVP profile makes the encryption required.
func (p *parser) crypto(i int, st *lineState, v string) {
	f := strings.Fields(v)
	if len(f) < 3 {
		p.warn("m-line %d: bad a=crypto", i)
		return
	}
	if st.d.Encryption == nil {
		st.d.Encryption = &jingle.Encryption{}
		if strings.Contains(strings.ToUpper(st.proto), "SAVP") {
			st.d.Encryption.Required = "1"
		}
	}
	c := jingle.Crypto{Tag: f[0], Suite: f[1], KeyParams: f[2], SessionParams: strings.Join(f[3:], " ")}
	st.d.Encryption.Crypto = append(st.d.Encryption.Crypto, c)
}

// bandwidthOf keeps b=AS if present, else the first standard modifier
// (Jingle has a single <bandwidth/>).
func bandwidthOf(bs []sdp.Bandwidth) *jingle.Bandwidth {
	pick := -1
	for i, b := range bs {
		if b.Experimental {
			continue
		}
		if b.Type == "AS" {
			pick = i
			break
		}
		if pick < 0 {
			pick = i
		}
	}
	if pick < 0 {
		return nil
	}
	return &jingle.Bandwidth{Type: bs[pick].Type, Value: strconv.FormatUint(bs[pick].Bandwidth, 10)}
}
