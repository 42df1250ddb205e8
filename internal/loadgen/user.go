package loadgen

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

const (
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
	nsCaps      = "http://jabber.org/protocol/caps"
	capsNode    = "https://fargo.dev/bench"
)

// features are what a simulated user's device announces: a Jingle audio
// client with raw UDP and without JMI, so the gateway rings it with a
// session-initiate straight away (the cheapest incoming path).
var features = []string{nsCaps, nsDiscoInfo, jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSRawUDP}

// capsVer is the XEP-0115 verification string of features (identity
// client/pc "fargo bench"); the gateway caches features by it, so one
// disco#info per run suffices.
var capsVer = func() string {
	fs := slices.Clone(features)
	slices.Sort(fs)
	var b strings.Builder
	b.WriteString("client/pc//fargo bench<")
	for _, f := range fs {
		b.WriteString(f + "<")
	}
	sum := sha1.Sum([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}()

var availablePresence = `<presence><c xmlns='` + nsCaps + `' hash='sha-1' node='` + capsNode + `' ver='` + capsVer + `'/></presence>`

// errIQTimeout is an iq without an answer in time.
var errIQTimeout = errors.New("no answer to iq")

// user is one simulated XMPP user with one device.
type user struct {
	idx  int
	name string // local part, also the SIP user
	bare string
	c    *conn
	r    *runner

	seq   atomic.Uint64
	avail chan struct{} // a gateway available presence arrived (buffer 1)

	// out is the user's outgoing call in progress, for the UAS to stamp.
	out atomic.Pointer[call]

	mu      sync.Mutex
	pending map[string]chan *stanza.Stanza
	calls   map[string]*call // by Jingle sid
}

func newUser(r *runner, idx int) *user {
	name := userName(r.cfg.UserPrefix, idx)
	return &user{idx: idx, name: name, bare: name + "@" + r.cfg.XMPPDomain, r: r,
		avail: make(chan struct{}, 1), pending: map[string]chan *stanza.Stanza{}, calls: map[string]*call{}}
}

// userName is the local part (and SIP user) of user number idx.
func userName(prefix string, idx int) string { return fmt.Sprintf("%s%06d", prefix, idx) }

// userIndex parses the number of a simulated user's name, -1 if it is not one.
func userIndex(prefix, name string) int {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) != 6 {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}

func (u *user) newID() string { return "q" + strconv.FormatUint(u.seq.Add(1), 36) }

// handle runs on the connection's reader goroutine for every stanza: it
// answers what a client answers and wakes whoever waits; it never waits.
func (u *user) handle(s *stanza.Stanza) {
	switch s.Kind() {
	case stanza.KindPresence:
		u.presence(s)
	case stanza.KindIQ:
		switch s.Type {
		case "result", "error":
			u.mu.Lock()
			ch := u.pending[s.ID]
			delete(u.pending, s.ID)
			u.mu.Unlock()
			if ch != nil {
				ch <- s
			}
		default:
			u.request(s)
		}
	}
}

func (u *user) presence(s *stanza.Stanza) {
	if bareOf(s.From) != u.r.cfg.Component {
		return
	}
	switch s.Type {
	case "":
		select {
		case u.avail <- struct{}{}:
		default:
		}
	case "subscribe":
		_ = u.c.write(`<presence to='` + u.r.cfg.Component + `' type='subscribed'/>`)
	}
}

// request answers an iq get or set.
func (u *user) request(s *stanza.Stanza) {
	if name, ok := s.Element(jingle.NS); ok && name.Local == "jingle" && s.Type == "set" {
		u.jingle(s)
		return
	}
	if name, ok := s.Element(nsDiscoInfo); ok && name.Local == "query" && s.Type == "get" {
		u.reply(s, discoInfo(s))
		return
	}
	u.replyRaw(`<iq type='error' id='` + xmlEscape(s.ID) + `' to='` + xmlEscape(s.From) +
		`'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
}

func discoInfo(s *stanza.Stanza) string {
	var q struct {
		Node string `xml:"node,attr"`
	}
	_, _ = s.Decode(nsDiscoInfo, "query", &q)
	var b strings.Builder
	b.WriteString(`<query xmlns='` + nsDiscoInfo + `'`)
	if q.Node != "" {
		b.WriteString(` node='` + xmlEscape(q.Node) + `'`)
	}
	b.WriteString(`><identity category='client' type='pc' name='fargo bench'/>`)
	for _, f := range features {
		b.WriteString(`<feature var='` + f + `'/>`)
	}
	b.WriteString(`</query>`)
	return b.String()
}

func (u *user) reply(req *stanza.Stanza, payload string) {
	u.replyRaw(`<iq type='result' id='` + xmlEscape(req.ID) + `' to='` + xmlEscape(req.From) + `'>` + payload + `</iq>`)
}

func (u *user) replyRaw(s string) { _ = u.c.write(s) }

// sendIQ sends an iq and waits for its answer; an error answer is
// returned as a stanza, not an error.
func (u *user) sendIQ(ctx context.Context, typ, to, payload string, timeout time.Duration) (*stanza.Stanza, error) {
	id := u.newID()
	ch := make(chan *stanza.Stanza, 1)
	u.mu.Lock()
	u.pending[id] = ch
	u.mu.Unlock()
	forget := func() {
		u.mu.Lock()
		delete(u.pending, id)
		u.mu.Unlock()
	}
	if err := u.c.write(`<iq type='` + typ + `' id='` + id + `' to='` + xmlEscape(to) + `'>` + payload + `</iq>`); err != nil {
		forget()
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case s := <-ch:
		return s, nil
	case <-t.C:
		forget()
		return nil, errIQTimeout
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	}
}

// sendAsync sends an iq whose answer nobody waits for (from the reader
// goroutine, which cannot wait for its own input).
func (u *user) sendAsync(to, payload string) {
	_ = u.c.write(`<iq type='set' id='a` + u.newID() + `' to='` + xmlEscape(to) + `'>` + payload + `</iq>`)
}

// drainAvail forgets a gateway presence that arrived before we asked.
func (u *user) drainAvail() {
	select {
	case <-u.avail:
	default:
	}
}

// waitAvail waits for the gateway's available presence: its sign that the
// user's SIP registration stands.
func (u *user) waitAvail(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-u.avail:
		return nil
	case <-t.C:
		return errors.New("no available presence from the gateway")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func bareOf(j string) string {
	b, _, _ := strings.Cut(j, "/")
	return b
}
