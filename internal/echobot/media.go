package echobot

import (
	"errors"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
)

// offerProblem says why an offer cannot be echoed, before any port is
// taken: no audio, a transport other than ICE-UDP or raw UDP, or ICE
// without the DTLS fingerprint the relay's ICE legs key SRTP with.
func offerProblem(contents []jingle.Content) *jingle.Reason {
	ct := audioOf(contents)
	if ct == nil {
		return jingle.NewReason(jingle.UnsupportedApplications, "the echo bot answers audio calls: the offer has no RTP audio content")
	}
	switch t := ct.Transport; {
	case t.IsRawUDP():
	case t.IsICE() && len(t.Fingerprints) == 0:
		return jingle.NewReason(jingle.IncompatibleParameters, "ICE-UDP without a DTLS fingerprint (XEP-0320): the echo bot needs DTLS-SRTP over ICE")
	case t.IsICE():
	default:
		return jingle.NewReason(jingle.UnsupportedTransports, "the echo bot takes ICE-UDP or raw UDP")
	}
	return nil
}

// audioOf is the content the echo answers: the first RTP audio content
// that sends anything.
func audioOf(contents []jingle.Content) *jingle.Content {
	for i, ct := range contents {
		if ct.Description.IsRTP() && ct.Description.Media == "audio" && ct.Senders.Normalize() != jingle.SendersNone {
			return &contents[i]
		}
	}
	return nil
}

// echoedContent names the answered content that carries media.
func echoedContent(answer []jingle.Content) string {
	if ct := audioOf(answer); ct != nil {
		return ct.Name
	}
	return ""
}

// mediaOf describes an answer for the log: each content's media, codec
// and transport.
func mediaOf(answer []jingle.Content) string {
	var parts []string
	for _, ct := range answer {
		if ct.Description == nil {
			continue
		}
		p := ct.Description.Media
		if ct.Senders == jingle.SendersNone {
			p += " (refused)"
		} else if pts := ct.Description.PayloadTypes; len(pts) > 0 {
			p += " " + pts[0].Name
		}
		switch {
		case ct.Transport.IsICE():
			p += " ice-udp"
		case ct.Transport.IsRawUDP():
			p += " raw-udp"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// mediaReason is the Jingle reason for a relay failure.
func mediaReason(err error) *jingle.Reason {
	switch {
	case errors.Is(err, media.ErrLimit), errors.Is(err, media.ErrNoPorts):
		return jingle.NewReason(jingle.Busy, "the echo bot has no media ports free; try again later")
	case errors.Is(err, media.ErrIdle):
		return jingle.NewReason(jingle.ConnectivityError, "no media received")
	case errors.Is(err, media.ErrDTLS):
		return jingle.NewReason(jingle.FailedTransport, "ICE or DTLS did not complete")
	}
	return jingle.NewReason(jingle.GeneralError, err.Error())
}

// mediaEnded is the relay ending the echo by itself: idle media, failed
// ICE or DTLS.
func (c *call) mediaEnded(err error) {
	c.log.Info("media ended", "err", err)
	c.failed(mediaReason(err))
}
