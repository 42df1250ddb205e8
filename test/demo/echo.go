package main

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/rtpprobe"
	"fargo.dev/fargo/internal/testkit"
	"fargo.dev/fargo/internal/testkit/webrtcpeer"
)

const echoTone = 800 // what alice's second device sends to the echo

// callEcho has a second device of alice's, one that speaks only ICE +
// DTLS-SRTP like Conversations, call the SIP echo service: the gateway's
// relay joins it to the echo's plain RTP, and she hears herself.
func (d *demo) callEcho() error {
	d.say("a second device of alice's that speaks only ICE + DTLS-SRTP (like Conversations) calls the SIP echo %s: the gateway relays the media", d.cfg.echo)
	c, err := testkit.Dial(d.ctx, d.cfg.c2s, d.cfg.jid, d.cfg.password, testkit.Resource("conversations"), testkit.Logf(d.tr.logf))
	if err != nil {
		return fmt.Errorf("second device login: %w", err)
	}
	defer c.Close()
	phone, err := testkit.NewPhone(c, testkit.PhoneOptions{JMI: true, WebRTC: true})
	if err != nil {
		return err
	}
	d.tr.start()
	start := time.Now()
	to := address.Escape(d.cfg.echo) + "@" + d.cfg.gateway
	call, err := phone.Call(d.ctx, to, netip.AddrPort{})
	if err != nil {
		return fmt.Errorf("calling the echo (is fargo echo-sip registered? see its log): %w", err)
	}
	if err := d.within(20*time.Second, call.WaitAccepted); err != nil {
		return fmt.Errorf("the echo did not answer: %w", err)
	}
	setup := time.Since(start)
	rtc := call.Media()
	if err := d.within(15*time.Second, rtc.Connected); err != nil {
		return fmt.Errorf("ICE + DTLS with the gateway's relay failed (see the gateway log): %w", err)
	}
	connected := time.Since(start)
	rtt, err := d.sendAndTime(rtc)
	if err != nil {
		return err
	}
	heard := dominant(rtc.Received())
	if err := call.Hangup(d.ctx, jingle.Success, ""); err != nil {
		return err
	}
	d.tr.stop()
	d.tr.print("XMPP signalling, as the second device saw it (note the trickled transport-info)")
	say("   call setup (propose → session-accept): %s; ICE + DTLS connected after %s", setup.Round(time.Millisecond), connected.Round(time.Millisecond))
	say("   first echo back after %s (round trip through the relay and the echo)", rtt.Round(time.Millisecond))
	say("   alice heard %.0f Hz back (she sent %d Hz)", heard, echoTone)
	if math.Abs(heard-echoTone) > 25 {
		return fmt.Errorf("alice heard %.0f Hz, want her own %d Hz", heard, echoTone)
	}
	return nil
}

// sendAndTime sends the tone and measures how long the first packet took
// to come back.
func (d *demo) sendAndTime(rtc *webrtcpeer.Peer) (time.Duration, error) {
	sent := make(chan error, 1)
	start := time.Now()
	go func() { sent <- rtc.SendTone(d.ctx, echoTone, toneDuration) }()
	var rtt time.Duration
	for rtt == 0 && time.Since(start) < toneDuration {
		if rtc.Packets() > 0 {
			rtt = time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	if err := <-sent; err != nil {
		return 0, err
	}
	if rtt == 0 {
		return 0, fmt.Errorf("nothing came back from the echo")
	}
	return rtt, nil
}

// dominant is the tone in 8 kHz audio; 0 for too little of it.
func dominant(pcm []int16) float64 {
	if len(pcm) < 8000 {
		return 0
	}
	return rtpprobe.DominantFrequency(pcm, 8000)
}
