package echo

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// codecs are the audio codecs the echo accepts. It never decodes audio, so
// any codec would do; these are the ones every SIP phone has, and naming
// them keeps the answer predictable. The offer's order decides.
var codecs = []string{"PCMU", "PCMA", "G722", "opus"}

// staticNames are RFC 3551's static audio payload types, for offers that
// list them without an rtpmap (and for naming them in a refusal).
var staticNames = map[string]string{
	"0": "PCMU/8000", "3": "GSM/8000", "4": "G723/8000", "5": "DVI4/8000", "6": "DVI4/16000",
	"7": "LPC/8000", "8": "PCMA/8000", "9": "G722/8000", "10": "L16/44100/2", "11": "L16/44100",
	"12": "QCELP/8000", "13": "CN/8000", "14": "MPA/90000", "15": "G728/8000", "16": "DVI4/11025",
	"17": "DVI4/22050", "18": "G729/8000",
}

// format is one payload type of an offer with its rtpmap and fmtp values.
type format struct {
	pt     string
	rtpmap string // "PCMU/8000", from a=rtpmap or the static table
	fmtp   string // a=fmtp value after the payload type, "" if none
}

func (f format) name() string {
	name, _, _ := strings.Cut(f.rtpmap, "/")
	return name
}

func (f format) clock() string {
	_, rest, _ := strings.Cut(f.rtpmap, "/")
	rate, _, _ := strings.Cut(rest, "/")
	return rate
}

// mline is one m-line of the offer: the answer must have as many, in the
// same order (RFC 3264 §6), with port 0 for those refused.
type mline struct {
	media, proto, firstFmt string
}

// plan is what the echo answers to an offer.
type plan struct {
	lines  []mline
	audio  int    // index of the accepted audio m-line
	codec  format // the one codec answered
	event  *format
	ptime  string
	dir    string // our direction: sendrecv, recvonly, sendonly or inactive
	sendOK bool   // whether the echo may send (dir is sendrecv or sendonly)
}

// negotiate picks the first audio m-line over plain RTP with a usable
// codec. Every error is a refusal (488) naming what was offered: its text
// becomes the Warning.
func negotiate(offer []byte) (plan, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(offer); err != nil {
		return plan{}, fmt.Errorf("unreadable SDP: %w", err)
	}
	p := plan{audio: -1}
	var offered, secure []string
	for i, md := range sd.MediaDescriptions {
		proto := strings.Join(md.MediaName.Protos, "/")
		first := ""
		if len(md.MediaName.Formats) > 0 {
			first = md.MediaName.Formats[0]
		}
		p.lines = append(p.lines, mline{media: md.MediaName.Media, proto: proto, firstFmt: first})
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 || p.audio >= 0 {
			continue
		}
		if proto != "RTP/AVP" && proto != "RTP/AVPF" {
			secure = append(secure, proto)
			continue
		}
		formats := formatsOf(md)
		for _, f := range formats {
			offered = append(offered, f.rtpmap)
		}
		codec, ok := pickCodec(formats)
		if !ok {
			continue
		}
		p.audio, p.codec = i, codec
		p.event = pickEvent(formats, codec.clock())
		p.ptime, _ = md.Attribute("ptime")
		p.dir = answerDirection(offerDirection(&sd, md))
		p.sendOK = p.dir == "sendrecv" || p.dir == "sendonly"
	}
	switch {
	case p.audio >= 0:
		return p, nil
	case len(secure) > 0 && len(offered) == 0:
		return plan{}, fmt.Errorf("only plain RTP/AVP is supported, offered %s", strings.Join(secure, ", "))
	case len(offered) == 0:
		return plan{}, errors.New("no audio stream offered")
	}
	return plan{}, fmt.Errorf("no common codec: echo takes %s, offered %s",
		strings.Join(codecs, ", "), strings.Join(offered, ", "))
}

// formatsOf lists an m-line's payload types with their rtpmap and fmtp.
func formatsOf(md *sdp.MediaDescription) []format {
	maps, fmtps := map[string]string{}, map[string]string{}
	for _, a := range md.Attributes {
		pt, val, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		switch a.Key {
		case "rtpmap":
			maps[pt] = strings.TrimSpace(val)
		case "fmtp":
			fmtps[pt] = strings.TrimSpace(val)
		}
	}
	out := make([]format, 0, len(md.MediaName.Formats))
	for _, pt := range md.MediaName.Formats {
		m, ok := maps[pt]
		if !ok {
			m, ok = staticNames[pt]
		}
		if !ok {
			m = "PT" + pt // dynamic type without rtpmap: unusable, but named in the Warning
		}
		out = append(out, format{pt: pt, rtpmap: m, fmtp: fmtps[pt]})
	}
	return out
}

func pickCodec(formats []format) (format, bool) {
	for _, f := range formats {
		if slices.ContainsFunc(codecs, func(c string) bool { return strings.EqualFold(c, f.name()) }) {
			return f, true
		}
	}
	return format{}, false
}

// pickEvent finds telephone-event at the codec's clock rate (RFC 4733
// §7.1.1: events use the clock of the audio they go with).
func pickEvent(formats []format, clock string) *format {
	for _, f := range formats {
		if strings.EqualFold(f.name(), "telephone-event") && f.clock() == clock {
			return &f
		}
	}
	return nil
}

// offerDirection is the m-line's direction attribute, else the session's,
// else sendrecv (RFC 3264 §5.1).
func offerDirection(sd *sdp.SessionDescription, md *sdp.MediaDescription) string {
	dirs := []string{"sendrecv", "sendonly", "recvonly", "inactive"}
	for _, attrs := range [][]sdp.Attribute{md.Attributes, sd.Attributes} {
		for _, a := range attrs {
			if slices.Contains(dirs, a.Key) {
				return a.Key
			}
		}
	}
	return "sendrecv"
}

// answerDirection mirrors the offer (RFC 3264 §6.1): a caller putting us
// on hold (sendonly) gets recvonly, inactive stays inactive.
func answerDirection(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// origin is the o= line's state: the session id is fixed per call, the
// version grows with every answer that changes (RFC 3264 §8).
type origin struct {
	id, version uint64
	last        string // the previous body without its o= line
}

// answer writes the SDP answer for p: our address and RTP port on the
// accepted m-line, port 0 on the others.
func (p plan) answer(o *origin, ip string, port int) []byte {
	family := "IP4"
	if strings.Contains(ip, ":") {
		family = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "s=fargo echo\r\nc=IN %s %s\r\nt=0 0\r\n", family, ip)
	for i, l := range p.lines {
		if i != p.audio {
			fmt.Fprintf(&b, "m=%s 0 %s %s\r\n", l.media, l.proto, cmp.Or(l.firstFmt, "0"))
			continue
		}
		pts := p.codec.pt
		if p.event != nil {
			pts += " " + p.event.pt
		}
		fmt.Fprintf(&b, "m=audio %d %s %s\r\n", port, l.proto, pts)
		for _, f := range []*format{&p.codec, p.event} {
			if f == nil {
				continue
			}
			fmt.Fprintf(&b, "a=rtpmap:%s %s\r\n", f.pt, f.rtpmap)
			if f.fmtp != "" {
				fmt.Fprintf(&b, "a=fmtp:%s %s\r\n", f.pt, f.fmtp)
			}
		}
		if p.ptime != "" {
			fmt.Fprintf(&b, "a=ptime:%s\r\n", p.ptime)
		}
		fmt.Fprintf(&b, "a=%s\r\n", p.dir)
	}
	body := b.String()
	if body != o.last {
		o.version++
		o.last = body
	}
	return []byte("v=0\r\no=fargo-echo " + strconv.FormatUint(o.id, 10) + " " +
		strconv.FormatUint(o.version, 10) + " IN " + family + " " + ip + "\r\n" + body)
}
