package jinglesdp

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"fargo.dev/fargo/internal/jingle"
)

// Readers of single media-level attributes (protocol-map §3.3, §3.4).

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
