package webrtcpeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"fargo.dev/fargo/internal/rtpprobe"
)

// Codec is one payload type the peer offers or accepts, in SDP terms.
type Codec struct {
	PT       uint8
	Name     string // encoding name: "PCMU", "PCMA", "telephone-event", …
	Clock    uint32
	Channels uint16 // 0 means 1
	Fmtp     string // a=fmtp parameters, such as "0-15"
}

// DefaultCodecs are PCMU/8000 (0), PCMA/8000 (8) and telephone-event/8000
// (101, "0-15"), in that order of preference.
func DefaultCodecs() []Codec {
	return []Codec{
		{PT: rtpprobe.PayloadPCMU, Name: "PCMU", Clock: 8000},
		{PT: rtpprobe.PayloadPCMA, Name: "PCMA", Clock: 8000},
		{PT: 101, Name: "telephone-event", Clock: 8000, Fmtp: "0-15"},
	}
}

// Config chooses what a Peer negotiates.
type Config struct {
	// Codecs are offered and accepted in order of preference; nil means
	// DefaultCodecs. Tones need PCMU or PCMA among them.
	Codecs []Codec
	// Video adds a send-receive VP8 transceiver (PT VideoPT) after the
	// audio one, bundled with it as browsers do: SendVideo sends synthetic
	// frames, VideoPackets counts what comes back.
	Video bool
}

// Peer is one end of a WebRTC audio call on IPv4 loopback. Its methods
// are safe for concurrent use.
type Peer struct {
	pc    *webrtc.PeerConnection
	track *audioTrack
	video *videoSender // nil without Config.Video

	life      context.Context // ends with Close; handed to the candidate handler
	end       context.CancelFunc
	stopWatch func() bool // unregisters the watcher of New's context
	closeOnce sync.Once
	closed    chan struct{}  // closed once Close is done
	wg        sync.WaitGroup // the candidate deliverer and the track readers

	rmu     sync.Mutex // serialises the remote description and remote candidates
	remote  bool       // a remote description is set
	pending []Candidate
	applied int // remote candidates given to ICE

	mu       sync.Mutex
	notify   chan struct{} // closed and replaced on every change below
	state    webrtc.PeerConnectionState
	local    []Candidate // gathered, not yet handed to onLocal
	gathered bool
	onLocal  func(context.Context, Candidate)
	closing  bool
	audio    rtpprobe.AudioBuffer
	packets  int
	// videoPackets counts received video packets by SSRC;
	// keyframeRequests the PLIs and FIRs about our video.
	videoPackets     map[uint32]int
	keyframeRequests int
}

// New makes a peer with one send-receive audio transceiver. Nothing is
// gathered or sent before Offer or Answer. The peer closes itself when
// ctx ends; Close ends it earlier.
func New(ctx context.Context, cfg Config) (*Peer, error) {
	codecs := cfg.Codecs
	if codecs == nil {
		codecs = DefaultCodecs()
	}
	api, err := newAPI(codecs, cfg.Video)
	if err != nil {
		return nil, err
	}
	// No ICE servers: host candidates only, as on a LAN without STUN.
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("webrtcpeer: %w", err)
	}
	p := &Peer{pc: pc, track: newAudioTrack(), notify: make(chan struct{}),
		closed: make(chan struct{}), state: webrtc.PeerConnectionStateNew, videoPackets: map[uint32]int{}}
	if _, err := pc.AddTrack(p.track); err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("webrtcpeer: add track: %w", err)
	}
	if cfg.Video {
		if err := p.addVideo(); err != nil {
			_ = pc.Close()
			p.wg.Wait()
			return nil, err
		}
	}
	p.life, p.end = context.WithCancel(context.Background())
	pc.OnICECandidate(p.onCandidate)
	pc.OnConnectionStateChange(p.onState)
	pc.OnTrack(p.onTrack)
	p.wg.Add(1)
	go p.deliver()
	p.stopWatch = context.AfterFunc(ctx, p.Close)
	return p, nil
}

// newAPI builds the pion API: codecs, no interceptor (no NACK, reports or
// congestion control to muddle what a test sees), and ICE on IPv4
// loopback UDP only, without mDNS (no multicast socket, no .local names).
func newAPI(codecs []Codec, video bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if c.Name == "" || c.Clock == 0 || strings.Contains(c.Name, "/") {
			return nil, fmt.Errorf("webrtcpeer: codec %d needs a name and a clock rate", c.PT)
		}
		params := webrtc.RTPCodecParameters{PayloadType: webrtc.PayloadType(c.PT),
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/" + c.Name, ClockRate: c.Clock,
				Channels: max(c.Channels, 1), SDPFmtpLine: c.Fmtp}}
		if err := me.RegisterCodec(params, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("webrtcpeer: codec %s/%d: %w", c.Name, c.Clock, err)
		}
	}
	if video {
		if err := me.RegisterCodec(videoCodec(), webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("webrtcpeer: VP8: %w", err)
		}
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
	// libwebrtc plays an audio stream whose SSRC the answer did not declare
	// (its "unsignaled" default stream); pion drops it unless told to. A
	// SIP peer or echo that never sends a=ssrc must still be heard.
	se.SetHandleUndeclaredSSRCWithoutAnswer(true)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{})), nil
}

// Close ends the call: it stops the PeerConnection (ICE, DTLS, SRTP) and
// waits for every goroutine of the peer, pion's included, to end. It may
// be called more than once, but not from the candidate handler.
func (p *Peer) Close() {
	p.closeOnce.Do(func() {
		p.stopWatch()
		p.end()
		p.mu.Lock()
		p.closing = true
		p.changedLocked()
		p.mu.Unlock()
		// GracefulClose, unlike Close, waits for pion's goroutines.
		_ = p.pc.GracefulClose()
		p.wg.Wait()
		close(p.closed)
	})
}

// Done is closed once the peer is closed and its goroutines are gone.
func (p *Peer) Done() <-chan struct{} { return p.closed }

func (p *Peer) changedLocked() {
	close(p.notify)
	p.notify = make(chan struct{})
}

// wait calls done under p.mu until it reports true, and returns its error.
func (p *Peer) wait(ctx context.Context, what string, done func() (bool, error)) error {
	for {
		p.mu.Lock()
		ok, err := done()
		notify := p.notify
		p.mu.Unlock()
		if ok {
			return err
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return fmt.Errorf("webrtcpeer: waiting for %s: %w", what, ctx.Err())
		}
	}
}

func (p *Peer) onState(s webrtc.PeerConnectionState) {
	p.mu.Lock()
	p.state = s
	p.changedLocked()
	p.mu.Unlock()
}

// ErrFailed is what Connected returns when ICE or DTLS failed or the peer
// closed before connecting.
var ErrFailed = errors.New("webrtcpeer: connection failed")

// Connected waits until ICE has a working pair and the DTLS handshake is
// done (the PeerConnection is "connected").
func (p *Peer) Connected(ctx context.Context) error {
	return p.wait(ctx, "the connection", func() (bool, error) {
		switch p.state {
		case webrtc.PeerConnectionStateConnected:
			return true, nil
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			return true, fmt.Errorf("%w: %s", ErrFailed, p.state)
		}
		if p.closing {
			return true, fmt.Errorf("%w: closed", ErrFailed)
		}
		return false, nil
	})
}

// State is the PeerConnection state: "new", "connecting", "connected",
// "disconnected", "failed" or "closed".
func (p *Peer) State() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ToLower(p.state.String())
}
