package mediapath

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
)

// Relay opens relayed paths on one media relay.
type Relay struct {
	relay *media.Relay
	log   *slog.Logger
}

// New wraps relay.
func New(relay *media.Relay, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay{relay: relay, log: log}
}

// Open starts a relayed path. offerICE picks the XMPP leg's transport when
// the gateway makes the offer to the user; ended is called once if the
// relay ends the media by itself (idle, failed handshake), never after
// Close.
func (r *Relay) Open(offerICE bool, ended func(error)) (*Path, error) {
	s, err := r.relay.NewSession()
	if err != nil {
		return nil, err
	}
	p := &Path{s: s, offerICE: offerICE, closed: make(chan struct{})}
	p.watch.Add(1)
	go p.watchEnd(ended)
	return p, nil
}

// Path is one relayed call. Its methods are called by the call's owner one
// at a time; only the end watcher runs beside them.
type Path struct {
	s        *media.Session
	offerICE bool

	ice        *media.ICELeg
	raw        *media.RTPLeg
	remoteSet  bool   // the ICE leg has the remote credentials
	userSetup  string // the user's DTLS setup, to answer it
	userMux    bool   // the user's offer had rtcp-mux
	sipCodecs  []media.Codec
	xmppCodecs []media.Codec
	seen       map[media.Candidate]bool // remote ICE candidates already given
	sawSIP     bool                     // ToXMPP ran: the SIP side's offer or answer
	sawXMPP    bool                     // ToSIP ran: the user's offer or answer
	sdes       *sipSDES                 // the SIP leg's SDES-SRTP keys, nil while plain

	closeOnce sync.Once
	closed    chan struct{}
	watch     sync.WaitGroup
}

// watchEnd reports an end the relay decided on its own.
func (p *Path) watchEnd(ended func(error)) {
	defer p.watch.Done()
	select {
	case <-p.s.Done():
	case <-p.closed:
		return
	}
	select {
	case <-p.closed:
		return
	default:
	}
	if err := p.s.Err(); err != nil && !errors.Is(err, media.ErrClosed) && ended != nil {
		ended(err)
	}
}

// Relayed is always true for a relayed path.
func (p *Path) Relayed() bool { return true }

// Close releases the session's sockets and goroutines.
func (p *Path) Close() {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.s.Close()
		p.watch.Wait()
	})
}

// ToSIP takes the user's offer or answer (or a re-offer: hold) and returns
// what the SIP side gets: the same media on the relay's RTP leg, plain, or
// with our a=crypto line once the SIP side offered SDES-SRTP (the answer
// built from it mirrors the offered RTP/SAVP proto).
func (p *Path) ToSIP(contents []jingle.Content) ([]jingle.Content, error) {
	audio, err := audioContent(contents)
	if err != nil {
		return nil, err
	}
	if err := p.takeUser(contents[audio]); err != nil {
		return nil, err
	}
	p.sawXMPP = true
	p.offerAnswered()
	out := make([]jingle.Content, len(contents))
	for i, ct := range contents {
		out[i] = towardSIP(ct, p.s.SIP().Local())
		if i != audio {
			out[i].Senders = jingle.SendersNone
		}
	}
	if out[audio].Description != nil { // towardSIP made it a copy
		out[audio].Description.Encryption = p.sipCryptoLine()
	}
	return out, nil
}

// ToXMPP takes the SIP side's offer or answer (or a re-offer) and returns
// what the user's device gets: the same media on the relay's XMPP leg,
// without the SIP side's SDES keys, which key the relay's SIP leg.
//
// A call made by the user gets the SIP side's answer here after ToSIP
// gave its offer; anything else is taken as an offer (the SIP side's call,
// a re-INVITE). So would be the answer to one of our re-INVITEs, which is
// right for SDES too: it repeats the tag of our line, which repeated
// theirs, with their current key.
func (p *Path) ToXMPP(contents []jingle.Content) ([]jingle.Content, error) {
	audio, err := audioContent(contents)
	if err != nil {
		return nil, err
	}
	ct := contents[audio]
	if err := p.takeSIPCrypto(ct.Description, p.sawXMPP && !p.sawSIP); err != nil {
		return nil, err
	}
	if rtp, rtcp, ok := rawAddrs(ct.Transport); ok && !rtp.Addr().IsUnspecified() {
		p.s.SIP().SetRemote(rtp, rtcp)
	}
	p.sipCodecs = codecsOf(ct.Description)
	p.s.SetCodecs(p.sipCodecs, p.xmppCodecs)
	if err := p.ensureXMPPLeg(p.offerICE, true); err != nil {
		return nil, err
	}
	p.sawSIP = true
	p.offerAnswered()
	out := make([]jingle.Content, len(contents))
	for i, c := range contents {
		out[i] = p.towardXMPP(c)
		if i != audio {
			out[i].Senders = jingle.SendersNone
		}
	}
	return out, nil
}

// offerAnswered starts the relay's idle clock once both sides have spoken:
// an offer and its answer, so the call is answered (a ringing call has no
// media to miss).
func (p *Path) offerAnswered() {
	if p.sawSIP && p.sawXMPP {
		p.s.ExpectMedia()
	}
}

// AddXMPPCandidates takes the user's trickled transport-info.
func (p *Path) AddXMPPCandidates(contents []jingle.Content) error {
	for _, ct := range contents {
		if ct.Transport == nil {
			continue
		}
		if err := p.takeTransport(ct.Transport); err != nil {
			return err
		}
	}
	return nil
}

func audioContent(contents []jingle.Content) (int, error) {
	for i, ct := range contents {
		if ct.Description != nil && ct.Description.Media == "audio" && ct.Senders.Normalize() != jingle.SendersNone {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: no audio content to relay", media.ErrBadInput)
}
