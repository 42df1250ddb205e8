package mediapath

import (
	"fmt"
	"slices"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
)

// bundledVideo is the index of the video content the echo sends back, or
// -1: the first RTP video content that sends anything and is in one
// BUNDLE group with the audio content, so that it arrives on the audio's
// leg. An unbundled one would need a leg of its own, which the echo does
// not make.
func bundledVideo(offer []jingle.Content, audio int, group *jingle.Group) int {
	if group == nil || !strings.EqualFold(group.Semantics, "BUNDLE") || !inGroup(group, offer[audio].Name) {
		return -1
	}
	for i, ct := range offer {
		if ct.Description.IsRTP() && ct.Description.Media == "video" &&
			ct.Senders.Normalize() != jingle.SendersNone && inGroup(group, ct.Name) {
			return i
		}
	}
	return -1
}

func inGroup(g *jingle.Group, name string) bool {
	return slices.ContainsFunc(g.Contents, func(c jingle.GroupContent) bool { return c.Name == name })
}

// echoVideoDescription keeps one video codec of the offer, VP8 if there is
// one (every WebRTC client decodes it) or else the first, without the
// retransmission and FEC formats (rtx, red, ulpfec, flexfec): the caller
// retransmits in the original stream, which the echo returns like any
// packet. Of the feedback it keeps what the echo passes back to the
// caller's encoder (nack, nack pli, ccm fir) and drops congestion
// feedback (transport-cc, goog-remb) and the transport-wide-cc header
// extension: nobody would send that feedback. It declares the echo's
// video SSRC, as echoDescription does the audio one.
func echoVideoDescription(offered *jingle.Description, ssrc uint32) (*jingle.Description, error) {
	d := *offered
	d.SSRC, d.SSRCGroups = "", nil
	d.Sources = []jingle.Source{{SSRC: ssrc, Params: []jingle.Parameter{{Name: "cname", Value: "fargo-echo"}}}}
	i := slices.IndexFunc(offered.PayloadTypes, func(pt jingle.PayloadType) bool { return strings.EqualFold(pt.Name, "VP8") })
	if i < 0 {
		i = slices.IndexFunc(offered.PayloadTypes, func(pt jingle.PayloadType) bool { return !repairFormat(pt.Name) })
	}
	if i < 0 {
		return nil, fmt.Errorf("%w: the offer has no video codec", media.ErrBadInput)
	}
	pt := offered.PayloadTypes[i]
	pt.RTCPFB = echoFeedback(pt.RTCPFB)
	d.PayloadTypes = []jingle.PayloadType{pt}
	d.RTCPFB = echoFeedback(offered.RTCPFB)
	d.HdrExts = slices.DeleteFunc(slices.Clone(offered.HdrExts), func(h jingle.HdrExt) bool {
		return strings.Contains(h.URI, "transport-wide-cc")
	})
	return &d, nil
}

// repairFormat tells the payload formats that repair a stream rather than
// carry one.
func repairFormat(name string) bool {
	switch strings.ToLower(name) {
	case "rtx", "red", "ulpfec", "flexfec-03", "flexfec":
		return true
	}
	return false
}

// echoFeedback keeps the feedback the echo passes back to the caller.
func echoFeedback(fbs []jingle.RTCPFB) []jingle.RTCPFB {
	var out []jingle.RTCPFB
	for _, fb := range fbs {
		t, sub := strings.ToLower(fb.Type), strings.ToLower(fb.Subtype)
		if t == "nack" && (sub == "" || sub == "pli") || t == "ccm" && sub == "fir" {
			out = append(out, fb)
		}
	}
	return out
}

// videoPayloads are the payload types the caller may send video with: all
// it offered for video (a client that sends a format we did not answer is
// still echoed rightly) but those the audio answer uses.
func videoPayloads(offered, audio *jingle.Description) []uint8 {
	var out []uint8
	for _, pt := range offered.PayloadTypes {
		if !slices.ContainsFunc(audio.PayloadTypes, func(a jingle.PayloadType) bool { return a.ID == pt.ID }) {
			out = append(out, pt.ID)
		}
	}
	return out
}
