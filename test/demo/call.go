package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/rtpprobe"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

// The tones: the phone (baresip) sends 440 Hz; alice sends these.
const (
	phoneTone    = 440
	toneOut      = 1000 // alice's tone in the call she places
	toneIn       = 600  // alice's tone in the call she receives
	toneDuration = 3 * time.Second
)

// contactJID is the gateway JID of the SIP phone (XEP-0106 escaping).
func (d *demo) contactJID() string {
	return address.Escape(d.cfg.phone) + "@" + d.cfg.gateway
}

func (d *demo) addContact() error {
	bob := d.contactJID()
	d.say("%s adds the SIP phone %s as the contact %s", d.cfg.jid, d.cfg.phone, bob)
	phone, err := testkit.NewPhone(d.c, testkit.PhoneOptions{JMI: true, RawUDP: true})
	if err != nil {
		return err
	}
	d.phone = phone
	if err := d.c.Presence(d.ctx, "subscribe", bob, "", ""); err != nil {
		return err
	}
	p, err := d.c.Expect(d.ctx, func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "" && strings.HasPrefix(s.From, bob+"/")
	})
	if err != nil {
		return fmt.Errorf("the contact did not come online: %w", err)
	}
	say("   the contact is online as %s", p.From)
	features, err := d.discoFeatures(p.From)
	if err != nil {
		return err
	}
	say("   its disco#info features (what makes a client show a call button):")
	for _, f := range features {
		say("     %s", f)
	}
	return nil
}

func (d *demo) discoFeatures(to string) ([]string, error) {
	res, err := d.c.SendIQ(d.ctx, iq("get", to, `<query xmlns="http://jabber.org/protocol/disco#info"/>`))
	if err != nil {
		return nil, fmt.Errorf("disco#info of %s: %w", to, err)
	}
	var q struct {
		Features []struct {
			Var string `xml:"var,attr"`
		} `xml:"feature"`
	}
	if _, err := res.Decode("http://jabber.org/protocol/disco#info", "query", &q); err != nil {
		return nil, fmt.Errorf("disco#info of %s: %w", to, err)
	}
	var out []string
	for _, f := range q.Features {
		out = append(out, f.Var)
	}
	return out, nil
}

func (d *demo) callOut() error {
	d.say("%s calls %s (Jingle Message Initiation, raw UDP, G.711) — baresip answers by itself", d.cfg.jid, d.cfg.phone)
	rtp, err := rtpprobe.NewRTPPeer(d.ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer rtp.Close()
	trace := newSIPTrace(d.cfg.phoneDir, d.cfg.phoneSIP)
	d.tr.start()
	start := time.Now()
	call, err := d.phone.Call(d.ctx, d.contactJID(), rtp.Addr())
	if err != nil {
		return fmt.Errorf("placing the call (see the gateway log): %w", err)
	}
	if err := d.within(20*time.Second, call.WaitAccepted); err != nil {
		return fmt.Errorf("the call was not answered (is baresip registered? see its log in %s): %w", d.cfg.phoneDir, err)
	}
	setup := time.Since(start)
	heard, err := d.exchangeTones(call, rtp, toneOut)
	if err != nil {
		return err
	}
	if err := call.Hangup(d.ctx, jingle.Success, ""); err != nil {
		return err
	}
	say("   call setup (propose → session-accept): %s", setup.Round(time.Millisecond))
	say("   alice heard %.0f Hz (baresip sends %d Hz)", heard, phoneTone)
	return d.finish(trace, toneOut)
}

// finish waits for the phone to close the call's recording (the call is
// over on the SIP side too), prints both transcripts and checks what the
// phone heard.
func (d *demo) finish(trace *sipTrace, want float64) error {
	wav, err := d.recording()
	d.tr.stop()
	d.tr.print("XMPP signalling, as alice's client saw it")
	trace.print("SIP signalling, as the phone saw it")
	if err != nil {
		return err
	}
	pcm, rate, err := rtpprobe.ReadWAV(wav)
	if err != nil {
		return err
	}
	got := rtpprobe.DominantFrequency(pcm, rate)
	say("   baresip recorded %.0f Hz from alice (%s)", got, wav)
	if math.Abs(got-want) > 25 {
		return fmt.Errorf("baresip recorded %.0f Hz, want alice's %.0f Hz", got, want)
	}
	return nil
}

func (d *demo) callIn() error {
	d.say("%s calls %s back: every device of alice rings", d.cfg.phone, d.cfg.sipAddr)
	bob := testkit.AttachBaresip("bob", d.cfg.phoneDir, d.cfg.phoneCons)
	trace := newSIPTrace(d.cfg.phoneDir, d.cfg.phoneSIP)
	d.tr.start()
	start := time.Now()
	// The console answers only after a quiet spell: alice's client rings
	// well before Dial returns.
	dialed := make(chan error, 1)
	go func() { dialed <- bob.Dial("sip:" + d.cfg.sipAddr) }()
	var in *testkit.PhoneCall
	err := d.within(20*time.Second, func(ctx context.Context) (err error) {
		in, err = d.phone.WaitIncoming(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("alice's client did not ring (see the gateway log): %w", err)
	}
	ringing := time.Since(start)
	rtp, err := rtpprobe.NewRTPPeer(d.ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer rtp.Close()
	if err := in.Proceed(d.ctx); err != nil {
		return err
	}
	if err := d.within(10*time.Second, in.WaitSessionInitiate); err != nil {
		return err
	}
	if err := in.Accept(d.ctx, rtp.Addr()); err != nil {
		return err
	}
	answered := time.Since(start)
	heard, err := d.exchangeTones(in, rtp, toneIn)
	if err != nil {
		return err
	}
	if err := in.Hangup(d.ctx, jingle.Success, ""); err != nil {
		return err
	}
	if err := <-dialed; err != nil {
		return err
	}
	say("   dial → alice's client rings: %s; → answered: %s", ringing.Round(time.Millisecond), answered.Round(time.Millisecond))
	say("   alice heard %.0f Hz (baresip sends %d Hz)", heard, phoneTone)
	return d.finish(trace, toneIn)
}

// exchangeTones sends alice's tone to the call's media address and
// returns the dominant frequency of what she received meanwhile.
func (d *demo) exchangeTones(call *testkit.PhoneCall, rtp *rtpprobe.RTPPeer, freq float64) (float64, error) {
	remote, ok := call.Remote()
	if !ok {
		return 0, fmt.Errorf("the call has no media address")
	}
	pt, ok := call.Codec()
	if !ok || (pt.Name != "PCMU" && pt.Name != "PCMA") {
		return 0, fmt.Errorf("negotiated codec %+v, want G.711", pt)
	}
	say("   media: alice %s ⇄ %s %s, sending %.0f Hz for %s", rtp.Addr(), remote, pt.Name, freq, toneDuration)
	if err := rtp.SendTone(d.ctx, remote, pt.ID, freq, toneDuration); err != nil {
		return 0, err
	}
	pcm := rtp.Received()
	if len(pcm) < 8000 {
		return 0, fmt.Errorf("alice received only %d samples of audio", len(pcm))
	}
	heard := rtpprobe.DominantFrequency(pcm, 8000)
	if math.Abs(heard-phoneTone) > 25 {
		return heard, fmt.Errorf("alice heard %.0f Hz, want baresip's %d Hz", heard, phoneTone)
	}
	return heard, nil
}

// recording waits for the phone's recording of the call that just ended.
func (d *demo) recording() (string, error) {
	bob := testkit.AttachBaresip("bob", d.cfg.phoneDir, d.cfg.phoneCons)
	var wav string
	err := d.within(15*time.Second, func(ctx context.Context) (err error) {
		wav, err = bob.WaitRecording(ctx)
		return err
	})
	return wav, err
}

// within runs f with the demo's context bounded by d.
func (d *demo) within(limit time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(d.ctx, limit)
	defer cancel()
	return f(ctx)
}
