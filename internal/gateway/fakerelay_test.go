package gateway

import (
	"sync"

	"fargo.dev/fargo/internal/jingle"
)

// fakeRelay stands in for the media relay: its paths swap transports the
// way the real one does (plain RTP at 198.51.100.1:6000 toward SIP, an
// ICE transport toward XMPP) and record what they were given.
type fakeRelay struct {
	mu    sync.Mutex
	paths []*fakePath
	full  bool
}

func (r *fakeRelay) Open(ice bool, ended func(error)) (MediaPath, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		return nil, ErrRelayFull
	}
	p := &fakePath{offerICE: ice, ended: ended}
	r.paths = append(r.paths, p)
	return p, nil
}

func (r *fakeRelay) path(i int) *fakePath {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.paths) {
		return nil
	}
	return r.paths[i]
}

type fakePath struct {
	offerICE bool
	ended    func(error)

	mu         sync.Mutex
	candidates []jingle.Candidate // trickled by the user
	toSIP      int
	closed     bool
}

func (p *fakePath) ToSIP(cs []jingle.Content) ([]jingle.Content, error) {
	p.mu.Lock()
	p.toSIP++
	p.mu.Unlock()
	out := make([]jingle.Content, len(cs))
	for i, ct := range cs {
		out[i] = ct
		t := jingle.NewTransport(jingle.NSRawUDP)
		t.Candidates = []jingle.Candidate{{Component: 1, ID: "r1", IP: "198.51.100.1", Port: 6000}}
		out[i].Transport = t
	}
	return out, nil
}

func (p *fakePath) ToXMPP(cs []jingle.Content) ([]jingle.Content, error) {
	out := make([]jingle.Content, len(cs))
	for i, ct := range cs {
		out[i] = ct
		t := jingle.NewTransport(jingle.NSICEUDP)
		t.Ufrag, t.Pwd = "relayufrag", "relaypasswordrelaypassword"
		t.Fingerprints = []jingle.Fingerprint{{Hash: "sha-256", Setup: "actpass", Value: "AA:BB"}}
		t.Candidates = []jingle.Candidate{{Component: 1, Foundation: "1", ID: "relay0", IP: "198.51.100.1", Port: 7000, Priority: 1, Protocol: "udp", Type: "host"}}
		out[i].Transport = t
	}
	return out, nil
}

func (p *fakePath) AddXMPPCandidates(cs []jingle.Content) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ct := range cs {
		if ct.Transport != nil {
			p.candidates = append(p.candidates, ct.Transport.Candidates...)
		}
	}
	return nil
}

func (p *fakePath) Relayed() bool { return true }

func (p *fakePath) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

func (p *fakePath) get(f func(*fakePath) int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return f(p)
}

func (r *fakeRelay) OpenEcho(ended func(error)) (EchoPath, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		return nil, ErrRelayFull
	}
	p := &fakePath{ended: ended}
	r.paths = append(r.paths, p)
	return p, nil
}

// Answer answers with the fake ICE transport, as ToXMPP does.
func (p *fakePath) Answer(offer []jingle.Content, _ *jingle.Group) ([]jingle.Content, error) {
	return p.ToXMPP(offer)
}
