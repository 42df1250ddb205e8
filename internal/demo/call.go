package demo

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/rtpprobe"
	"fargo.dev/fargo/internal/stanza"
)

// callTimeout bounds the wait for the callee's session-accept.
const callTimeout = 20 * time.Second

// callResult is what one call measured.
type callResult struct {
	Setup      time.Duration // session-initiate sent → session-accept received
	RoundTrip  time.Duration // median delay of a packet's echo
	Heard      float64       // dominant frequency of what came back, Hz
	Packets    int           // RTP packets received
	Remote     netip.AddrPort
	Codec      string
	Transcript []string
}

// placeCall calls to with a direct session-initiate (XEP-0166/0167,
// raw UDP, PCMU and telephone-event), sends the tone once the call is
// accepted, measures what comes back and hangs up.
func placeCall(ctx context.Context, cl *client, tr *transcript, to string) (r callResult, err error) {
	rtp, err := rtpprobe.NewRTPPeer(ctx, "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	defer rtp.Close()
	sid := rand.Text()[:16]
	tr.start()
	defer func() { r.Transcript = tr.stop() }() // also on failure: the transcript shows where it stopped
	mark := cl.mark()
	start := time.Now()
	if _, err := cl.sendIQ(ctx, "set", to, offer(cl.jid(), sid, rtp.Addr())); err != nil {
		return r, fmt.Errorf("session-initiate refused: %w", err)
	}
	accept, peer, err := waitAccept(ctx, cl, mark, sid)
	if err != nil {
		return r, err
	}
	to = peer // the responder's full JID from now on (XEP-0166 §6.3)
	r.Setup = time.Since(start)
	if r.Remote, r.Codec, err = answered(accept); err != nil {
		hangup(ctx, cl, to, sid, jingle.IncompatibleParameters, err.Error())
		return r, err
	}
	err = rtp.SendTone(ctx, r.Remote, rtpprobe.PayloadPCMU, tone, toneLength)
	time.Sleep(200 * time.Millisecond) // the last echoes are still on their way
	hangup(ctx, cl, to, sid, jingle.Success, "")
	if err != nil {
		return r, fmt.Errorf("sending the tone: %w", err)
	}
	return measure(r, rtp)
}

// measure fills in what came back and checks it is the tone.
func measure(r callResult, rtp *rtpprobe.RTPPeer) (callResult, error) {
	r.Packets = rtp.Packets()
	r.RoundTrip = rtpprobe.Median(rtp.RoundTrips())
	pcm := rtp.Received()
	if len(pcm) < 4000 {
		return r, fmt.Errorf("only %d RTP packets came back (%d samples of audio)", r.Packets, len(pcm))
	}
	r.Heard = rtpprobe.DominantFrequency(pcm, 8000)
	if math.Abs(r.Heard-tone) > 50 {
		return r, fmt.Errorf("heard %.0f Hz back, sent %.0f Hz", r.Heard, tone)
	}
	return r, nil
}

// offer is the session-initiate: one audio content, PCMU and
// telephone-event, raw UDP at local.
func offer(self, sid string, local netip.AddrPort) []byte {
	desc := jingle.NewDescription("audio")
	desc.PayloadTypes = []jingle.PayloadType{
		{ID: rtpprobe.PayloadPCMU, Name: "PCMU", Clockrate: 8000},
		{ID: 101, Name: "telephone-event", Clockrate: 8000},
	}
	tp := jingle.NewTransport(jingle.NSRawUDP)
	tp.Candidates = []jingle.Candidate{{Component: 1, ID: "c" + rand.Text()[:8], IP: local.Addr().String(), Port: local.Port()}}
	j := jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: sid, Initiator: self,
		Contents: []jingle.Content{{Creator: jingle.RoleInitiator, Name: "audio", Senders: "both", Description: desc, Transport: tp}}}
	b, _ := xml.Marshal(j)
	return b
}

// waitAccept waits for the callee's session-accept, or its
// session-terminate (declined, failed), of session sid.
func waitAccept(ctx context.Context, cl *client, mark int, sid string) (*jingle.Jingle, string, error) {
	var got jingle.Jingle
	s, err := cl.waitFor(ctx, mark, callTimeout, "session-accept", func(s *stanza.Stanza) bool {
		var j jingle.Jingle
		if s.Kind() != stanza.KindIQ || s.Type != "set" {
			return false
		}
		if ok, err := s.Decode(jingle.NS, "jingle", &j); !ok || err != nil || j.SID != sid {
			return false
		}
		if j.Action == jingle.ActionSessionAccept || j.Action == jingle.ActionSessionTerminate {
			got = j
			return true
		}
		return false
	})
	if err != nil {
		return nil, "", err
	}
	if got.Action == jingle.ActionSessionTerminate {
		why := "no reason given"
		if got.Reason != nil {
			why = string(got.Reason.Condition)
			if got.Reason.Text != "" {
				why += ": " + got.Reason.Text
			}
		}
		return nil, "", errors.New("the call was ended before it was answered (" + why + ")")
	}
	return &got, s.From, nil
}

// answered reads the callee's media address and codec from its accept.
func answered(j *jingle.Jingle) (netip.AddrPort, string, error) {
	for _, c := range j.Contents {
		if c.Transport == nil || c.Description == nil || !c.Transport.IsRawUDP() {
			continue
		}
		codec := ""
		for _, pt := range c.Description.PayloadTypes {
			if pt.ID == rtpprobe.PayloadPCMU {
				codec = "PCMU/8000"
			}
		}
		for _, cand := range c.Transport.Candidates {
			ip, err := netip.ParseAddr(cand.IP)
			if err == nil && cand.Component == 1 {
				if codec == "" {
					return netip.AddrPort{}, "", errors.New("the answer does not keep PCMU")
				}
				return netip.AddrPortFrom(ip, cand.Port), codec, nil
			}
		}
	}
	return netip.AddrPort{}, "", errors.New("the answer has no raw-UDP candidate")
}

// hangup sends session-terminate; a missing answer is not the demo's
// failure (the call is over for us either way).
func hangup(ctx context.Context, cl *client, to, sid string, c jingle.Condition, text string) {
	j := jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: sid, Reason: jingle.NewReason(c, text)}
	b, _ := xml.Marshal(j)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = cl.sendIQ(ctx, "set", to, b)
}
