package webrtcpeer

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Offer creates the SDP offer (setup:actpass, rtcp-mux) and starts
// gathering. The offer carries no candidate: they come one by one to the
// OnLocalCandidate handler, as a trickling client sends them.
func (p *Peer) Offer() (string, error) {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtcpeer: create offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("webrtcpeer: set offer: %w", err)
	}
	return offer.SDP, nil
}

// Answer takes the remote offer and returns the answer (setup:active when
// the offer said actpass), without candidates, and starts gathering.
// Remote candidates added before it are applied now.
func (p *Peer) Answer(offer string) (string, error) {
	if err := p.setRemote(webrtc.SDPTypeOffer, offer); err != nil {
		return "", err
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtcpeer: create answer: %w", err)
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("webrtcpeer: set answer: %w", err)
	}
	return answer.SDP, nil
}

// SetAnswer takes the remote answer to Offer. Remote candidates added
// before it are applied now.
func (p *Peer) SetAnswer(answer string) error {
	return p.setRemote(webrtc.SDPTypeAnswer, answer)
}

func (p *Peer) setRemote(typ webrtc.SDPType, sdp string) error {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: sdp}); err != nil {
		return fmt.Errorf("webrtcpeer: remote %s: %w", typ, err)
	}
	p.remote = true
	pending := p.pending
	p.pending = nil
	for _, c := range pending {
		if err := p.addRemoteLocked(c); err != nil {
			return err
		}
	}
	return nil
}

// AddRemoteCandidate gives ICE a candidate the other side trickled. One
// that arrives before the remote description is kept until then, as a
// trickled transport-info may overtake the session-initiate's handling.
func (p *Peer) AddRemoteCandidate(c Candidate) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("webrtcpeer: %w", err)
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	if !p.remote {
		p.pending = append(p.pending, c)
		return nil
	}
	return p.addRemoteLocked(c)
}

func (p *Peer) addRemoteLocked(c Candidate) error {
	if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.SDP()}); err != nil {
		return fmt.Errorf("webrtcpeer: remote candidate %s: %w", c.SDP(), err)
	}
	p.applied++
	return nil
}

// RemoteCandidates is how many remote candidates ICE got so far (those
// added before the remote description count once it is set).
func (p *Peer) RemoteCandidates() int {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	return p.applied
}

// OnLocalCandidate sets the handler that gets each gathered candidate, in
// order, on a goroutine of the peer: first those gathered before, then
// each new one. ctx ends when the peer closes. The handler may block (to
// send a transport-info and wait for its result) but must not call Close.
// Setting it late is how a client holds its candidates back until its
// session-initiate or session-accept went out.
func (p *Peer) OnLocalCandidate(h func(ctx context.Context, c Candidate)) {
	p.mu.Lock()
	p.onLocal = h
	p.changedLocked()
	p.mu.Unlock()
}

// onCandidate runs on pion's goroutine: it only queues, so that a slow
// handler never holds up ICE.
func (p *Peer) onCandidate(pc *webrtc.ICECandidate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.changedLocked()
	if pc == nil {
		p.gathered = true
		return
	}
	if c, err := fromPion(pc); err == nil {
		p.local = append(p.local, c)
	}
}

// deliver hands the queued candidates to the handler until Close.
func (p *Peer) deliver() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		h := p.onLocal
		var next []Candidate
		if h != nil {
			next, p.local = p.local, nil
		}
		notify := p.notify
		p.mu.Unlock()
		for _, c := range next {
			if p.life.Err() != nil {
				return
			}
			h(p.life, c)
		}
		if len(next) > 0 {
			continue
		}
		select {
		case <-notify:
		case <-p.life.Done():
			return
		}
	}
}

// Gathered waits until ICE gathering is complete (pion's end-of-candidates,
// which a Jingle client does not signal).
func (p *Peer) Gathered(ctx context.Context) error {
	return p.wait(ctx, "the end of gathering", func() (bool, error) {
		if p.closing {
			return true, fmt.Errorf("%w: closed", ErrFailed)
		}
		return p.gathered, nil
	})
}
