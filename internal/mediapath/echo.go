package mediapath

import (
	"fmt"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
)

// OpenEcho starts an echo path for the gateway's echo contact: the user's
// media comes back to them over the transport they offered.
func (r *Relay) OpenEcho(ended func(error)) (*Path, error) {
	s, err := r.relay.NewEchoSession()
	if err != nil {
		return nil, err
	}
	p := &Path{s: s, closed: make(chan struct{})}
	p.watch.Add(1)
	go p.watchEnd(ended)
	return p, nil
}

// Answer answers the user's offer for the echo: one audio codec of theirs
// (their first) plus telephone-event at its clock rate, on the echo leg's
// transport, and one video codec if a video content shares the audio's
// transport (BUNDLE in group, as Conversations, Movim and browsers offer);
// other contents are rejected (senders none), since the echo has one leg.
func (p *Path) Answer(offer []jingle.Content, group *jingle.Group) ([]jingle.Content, error) {
	audio, err := audioContent(offer)
	if err != nil {
		return nil, err
	}
	if err := p.takeUser(offer[audio]); err != nil {
		return nil, err
	}
	video := bundledVideo(offer, audio, group)
	out := make([]jingle.Content, len(offer))
	for i, ct := range offer {
		var d *jingle.Description
		switch i {
		case audio:
			d, err = echoDescription(ct.Description, p.s.EchoSSRC())
		case video:
			d, err = echoVideoDescription(ct.Description, p.s.EchoVideoSSRC())
		default:
			ct.Senders = jingle.SendersNone
			out[i] = ct
			continue
		}
		if err != nil {
			return nil, err
		}
		ct.Description = d
		out[i] = p.towardXMPP(ct)
	}
	if video >= 0 {
		p.s.SetEchoVideo(videoPayloads(offer[video].Description, out[audio].Description))
	}
	p.sawSIP, p.sawXMPP = true, true
	p.offerAnswered()
	return out, nil
}

// echoDescription keeps the first codec of the offer and the matching
// telephone-event: the echo sends back exactly what it gets. It declares
// the echo's own SSRC, never the client's (a WebRTC client given its own
// SSRC as the remote one would not play the echo).
func echoDescription(offered *jingle.Description, ssrc uint32) (*jingle.Description, error) {
	d := *offered
	d.SSRC, d.SSRCGroups = "", nil
	d.Sources = []jingle.Source{{SSRC: ssrc, Params: []jingle.Parameter{{Name: "cname", Value: "fargo-echo"}}}}
	d.PayloadTypes = nil
	for _, pt := range offered.PayloadTypes {
		if !strings.EqualFold(pt.Name, "telephone-event") {
			d.PayloadTypes = append(d.PayloadTypes, pt)
			break
		}
	}
	if len(d.PayloadTypes) == 0 {
		return nil, fmt.Errorf("%w: the offer has no audio codec", media.ErrBadInput)
	}
	for _, pt := range offered.PayloadTypes {
		if strings.EqualFold(pt.Name, "telephone-event") && pt.Clockrate == d.PayloadTypes[0].Clockrate {
			d.PayloadTypes = append(d.PayloadTypes, pt)
			break
		}
	}
	return &d, nil
}
