package mediapath

import (
	"fmt"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
)

// takeUser sets the XMPP leg up from the user's audio content: its
// transport (creating the leg on the user's offer), codecs and rtcp-mux.
func (p *Path) takeUser(ct jingle.Content) error {
	if ct.Transport == nil {
		return fmt.Errorf("%w: the audio content has no transport", media.ErrBadInput)
	}
	if err := p.ensureXMPPLeg(ct.Transport.IsICE(), false); err != nil {
		return err
	}
	if err := p.takeTransport(ct.Transport); err != nil {
		return err
	}
	p.userMux = ct.Description.RTCPMux != nil
	p.xmppCodecs = codecsOf(ct.Description)
	p.s.SetCodecs(p.sipCodecs, p.xmppCodecs)
	return nil
}

// ensureXMPPLeg creates the XMPP leg once: an ICE leg controlling the
// checks when we offer (we are the Jingle initiator), controlled when the
// user offered.
func (p *Path) ensureXMPPLeg(ice, weOffer bool) error {
	if p.ice != nil || p.raw != nil {
		return nil
	}
	var err error
	if ice {
		p.ice, err = p.s.XMPPICE(weOffer)
	} else {
		p.raw, err = p.s.XMPPRaw()
	}
	return err
}

// takeTransport applies what the user said about its transport: ICE
// credentials and fingerprint (once), candidates (as they trickle), or
// raw-UDP addresses.
func (p *Path) takeTransport(t *jingle.Transport) error {
	switch {
	case p.ice != nil && t.IsICE():
		return p.takeICE(t)
	case p.raw != nil && t.IsRawUDP():
		if rtp, rtcp, ok := rawAddrs(t); ok {
			p.raw.SetRemote(rtp, rtcp)
		}
		return nil
	}
	return fmt.Errorf("%w: the device changed its transport (%s)", media.ErrBadInput, t.XMLName.Space)
}

func (p *Path) takeICE(t *jingle.Transport) error {
	if !p.remoteSet && t.Ufrag != "" && len(t.Fingerprints) > 0 {
		fp := t.Fingerprints[0]
		p.userSetup = fp.Setup
		err := p.ice.SetRemote(media.RemoteICE{
			Ufrag: t.Ufrag, Pwd: t.Pwd,
			Fingerprint: media.Fingerprint{Hash: fp.Hash, Value: fp.Value},
			Setup:       fp.Setup,
		})
		if err != nil {
			return err
		}
		p.remoteSet = true
	}
	if p.seen == nil {
		p.seen = map[media.Candidate]bool{}
	}
	for _, jc := range t.Candidates {
		c, ok := fromJingle(jc)
		if !ok || p.seen[c] {
			continue // TCP, mDNS names, RTCP components: not ours to use
		}
		p.seen[c] = true
		if err := p.ice.AddRemoteCandidate(c); err != nil {
			return err
		}
	}
	return nil
}

// towardXMPP is a SIP-side content as the user's device gets it: the
// relay's transport, rtcp-mux for ICE, and no SDES keys: those belong to
// the SIP leg, and the XMPP leg is keyed by DTLS or plain.
func (p *Path) towardXMPP(ct jingle.Content) jingle.Content {
	out := ct
	if ct.Description != nil {
		d := *ct.Description
		d.RTCPMux, d.Encryption = nil, nil
		if p.ice != nil {
			d.RTCPMux = &jingle.Empty{}
		}
		out.Description = &d
	}
	if p.raw != nil {
		out.Transport = rawTransport(p.raw.Local())
		return out
	}
	t := jingle.NewTransport(jingle.NSICEUDP)
	t.Ufrag, t.Pwd = p.ice.Credentials()
	fp := p.ice.Fingerprint()
	t.Fingerprints = []jingle.Fingerprint{{Hash: fp.Hash, Value: fp.Value, Setup: p.ice.LocalSetup(p.userSetup)}}
	for i, c := range p.ice.Candidates() {
		t.Candidates = append(t.Candidates, toJingle(c, i))
	}
	out.Transport = t
	return out
}
