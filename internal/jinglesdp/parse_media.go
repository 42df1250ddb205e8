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
