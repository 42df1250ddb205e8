package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// fakeCalls is the SIP side of calls: it records what the gateway does.
type fakeCalls struct {
	mu      sync.Mutex
	invites []*fakeCall
	ch      chan *fakeCall
}

func newFakeCalls() *fakeCalls { return &fakeCalls{ch: make(chan *fakeCall, 16)} }

func (f *fakeCalls) Invite(_ context.Context, a store.Account, target string, sdp []byte, h SIPCallHandler) (SIPCall, error) {
	c := &fakeCall{id: fmt.Sprintf("call-%d", time.Now().UnixNano()), target: target, offer: string(sdp), h: h, account: a}
	f.mu.Lock()
	f.invites = append(f.invites, c)
	f.mu.Unlock()
	f.ch <- c
	return c, nil
}

// fakeCall is one SIP dialog, either direction.
type fakeCall struct {
	id, target, offer string
	account           store.Account
	h                 SIPCallHandler

	mu         sync.Mutex
	cancelled  string // Reason header of our CANCEL
	hungUp     string // Reason header of our BYE
	closed     bool
	reinvites  []string
	infos      []string
	answer     string
	rejected   int
	warning    string
	rings      int
	answerWait chan struct{}
	token      string
	from       string
}

func (c *fakeCall) CallID() string { return c.id }
func (c *fakeCall) Cancel(r string) {
	c.mu.Lock()
	c.cancelled = "CANCEL " + r
	c.mu.Unlock()
}
func (c *fakeCall) Hangup(_ context.Context, r string) error {
	c.mu.Lock()
	c.hungUp = "BYE " + r
	c.mu.Unlock()
	return nil
}
func (c *fakeCall) Reinvite(_ context.Context, sdp []byte) ([]byte, error) {
	c.mu.Lock()
	c.reinvites = append(c.reinvites, string(sdp))
	c.mu.Unlock()
	return nil, nil
}
func (c *fakeCall) Info(_ context.Context, ct string, body []byte) error {
	c.mu.Lock()
	c.infos = append(c.infos, ct+" "+string(body))
	c.mu.Unlock()
	return nil
}
func (c *fakeCall) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// SIPIncoming side.
func (c *fakeCall) Token() string          { return c.token }
func (c *fakeCall) From() (string, string) { return c.from, "" }
func (c *fakeCall) Asserted() string       { return "" }
func (c *fakeCall) Privacy() bool          { return false }
func (c *fakeCall) Offer() []byte          { return []byte(c.offer) }
func (c *fakeCall) Ring() error            { c.mu.Lock(); c.rings++; c.mu.Unlock(); return nil }
func (c *fakeCall) Answer(_ context.Context, sdp []byte) error {
	c.mu.Lock()
	c.answer = string(sdp)
	c.mu.Unlock()
	return nil
}
func (c *fakeCall) Reject(status int, _ string, warning string, _ time.Duration) error {
	c.mu.Lock()
	c.rejected, c.warning = status, warning
	c.mu.Unlock()
	return nil
}

func (c *fakeCall) get(f func(*fakeCall) string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f(c)
}

// fakeIQ answers the gateway's disco#info queries to users' devices with
// the features registered per full JID.
type fakeIQ struct {
	out      *fakeSender // Jingle iqs are recorded there for the test
	mu       sync.Mutex
	features map[string][]string
}

func (f *fakeIQ) SendIQ(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	f.mu.Lock()
	feats := f.features[iq.To]
	f.mu.Unlock()
	if ok, _ := iq.Decode(nsDiscoInfo, "query", &discoInfoQuery{}); !ok {
		f.out.ch <- iq // a Jingle iq: the device acknowledges it
		return &stanza.Stanza{XMLName: iq.XMLName, Type: "result", ID: iq.ID, From: iq.To, To: iq.From}, nil
	}
	q := discoInfoQuery{}
	for _, v := range feats {
		q.Features = append(q.Features, feature{Var: v})
	}
	return stanza.Result(iq, q)
}
