package testkit

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"fargo.dev/fargo/internal/disco"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// Namespaces a phone uses besides the Jingle family's.
const (
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
	nsCaps      = "http://jabber.org/protocol/caps"
	nsReceipts  = "urn:xmpp:receipts"
	nsCarbons   = "urn:xmpp:carbons:2"
	nsForward   = "urn:xmpp:forward:0"
	nsHints     = "urn:xmpp:hints"
)

// PhoneCapsNode is the XEP-0115 node a Phone announces in its caps.
const PhoneCapsNode = "https://fargo.dev/testkit/phone"

// phoneIdentity is the disco#info identity of every Phone.
var phoneIdentity = capsIdentity{Category: "client", Type: "pc", Name: "Fargo test phone"}

// PhoneOptions chooses what a Phone advertises and offers.
type PhoneOptions struct {
	JMI     bool // advertise urn:xmpp:jingle-message:0 and use JMI to call
	RawUDP  bool // advertise urn:xmpp:jingle:transports:raw-udp:1 (default true when ICE is false)
	ICE     bool // advertise ice-udp + dtls (signalling only; used to test what the gateway offers)
	Carbons bool // enable XEP-0280 carbons after login
	// WebRTC makes the phone behave like Conversations for media as well
	// (it implies ICE and excludes RawUDP; with JMI too its features are
	// Conversations'): session-initiate and session-accept carry an ICE-UDP
	// transport with ufrag, pwd and a DTLS fingerprint (setup actpass when
	// offering, active when answering) and no candidate, then each
	// candidate follows in its own transport-info; the media is real
	// (ICE, DTLS-SRTP, rtcp-mux on loopback: PhoneCall.Media). A
	// session-initiate that is not ICE-UDP with a fingerprint offered
	// actpass is refused as Conversations does (iq result, then
	// session-terminate with its reason); the call still comes out of
	// WaitIncoming, ended. Unlike Conversations the phone does not accept
	// a pre-approved (JMI) session-initiate by itself: call Accept. The
	// local media addresses of Call, Propose and Accept are ignored.
	WebRTC bool
	// Codecs are offered and accepted, in order of preference; default
	// PCMU/8000 (0), PCMA/8000 (8), telephone-event/8000 (101, ""="0-15").
	Codecs []jingle.PayloadType
	// Video (WebRTC mode only) makes the phone a video caller as well:
	// it advertises urn:xmpp:jingle:apps:rtp:video, proposes audio and
	// video, and its media stack adds a VP8 content bundled with the
	// audio (webrtcpeer.Config.Video).
	Video bool
}

// Phone turns a Client into a Jingle audio client that behaves like Dino:
// XEP-0115 caps, disco#info, Jingle RTP sessions over a raw-UDP transport,
// Jingle Message Initiation, XEP-0181 DTMF. It handles signalling only: the
// test owns the media sockets and passes their addresses.
//
// With PhoneOptions.WebRTC it behaves like Conversations instead, media
// included (ICE-UDP, DTLS-SRTP, trickled candidates; see phone_webrtc.go).
//
// It answers on the Client's reader goroutine (see Client.OnStanza) and
// consumes what it handles: disco#info requests, Jingle iqs, and the JMI
// messages of its calls (only with PhoneOptions.JMI; without it, JMI
// messages stay queued for Expect like in a client without JMI). It starts
// no goroutine of its own, but the media of a WebRTC call has some, which
// end with the call or with the Client's stream. All methods are safe for
// concurrent use.
type Phone struct {
	c        *Client
	o        PhoneOptions
	features []string
	ver      string
	idPrefix string // random: ids unique across clients too

	mu       sync.Mutex
	notify   chan struct{} // closed and replaced on every change of a call
	calls    map[string]*PhoneCall
	incoming []*PhoneCall        // not yet returned by WaitIncoming
	async    map[string]struct{} // ids of iq sets sent from the reader goroutine, whose replies nobody waits for
}

// NewPhone makes c a phone: it answers disco#info (for its caps node and
// without node) with identity client/pc and the features chosen by o,
// enables carbons if asked, and sends available presence with XEP-0115
// caps; every later available presence sent with c.Presence carries them
// too. Call it once per Client, before the calls it should see.
func NewPhone(c *Client, o PhoneOptions) (*Phone, error) {
	if o.Video && !o.WebRTC {
		return nil, fmt.Errorf("phone %s: Video needs WebRTC", c.JID())
	}
	if o.WebRTC {
		o.ICE, o.RawUDP = true, false // Conversations does not implement raw-udp
	}
	if !o.ICE {
		o.RawUDP = true
	}
	if len(o.Codecs) == 0 {
		o.Codecs = []jingle.PayloadType{
			{ID: 0, Name: "PCMU", Clockrate: 8000},
			{ID: 8, Name: "PCMA", Clockrate: 8000},
			{ID: 101, Name: "telephone-event", Clockrate: 8000, Params: []jingle.Parameter{{Value: "0-15"}}},
		}
	} else {
		o.Codecs = slices.Clone(o.Codecs)
	}
	p := &Phone{c: c, o: o, notify: make(chan struct{}), calls: map[string]*PhoneCall{}, async: map[string]struct{}{},
		idPrefix: "ph" + strings.ToLower(rand.Text()[:6]) + "-"}
	p.features = []string{nsDiscoInfo, nsCaps, jingle.NS, jingle.NSRTP, jingle.NSRTPAudio}
	if o.RawUDP {
		p.features = append(p.features, jingle.NSRawUDP)
	}
	if o.ICE {
		p.features = append(p.features, jingle.NSICEUDP, jingle.NSDTLS)
	}
	if o.JMI {
		p.features = append(p.features, jingle.NSJMI)
	}
	if o.Video {
		p.features = append(p.features, jingle.NSRTPVideo)
	}
	p.features = append(p.features, jingle.NSDTMF, nsReceipts)
	p.ver = capsVer([]capsIdentity{phoneIdentity}, p.features)
	c.OnStanza(p.handle)

	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if o.Carbons {
		enable := &stanza.Stanza{Type: "set", Payload: []byte(`<enable xmlns="` + nsCarbons + `"/>`)}
		if _, err := c.SendIQ(ctx, enable); err != nil {
			return nil, fmt.Errorf("phone %s: enable carbons: %w", c.JID(), err)
		}
	}
	c.SetPresenceExtension(`<c xmlns="` + nsCaps + `" hash="sha-1" node="` + PhoneCapsNode + `" ver="` + p.ver + `"/>`)
	if err := c.Presence(ctx, "", "", "", ""); err != nil {
		return nil, fmt.Errorf("phone %s: presence: %w", c.JID(), err)
	}
	return p, nil
}

// Features are the disco#info features the phone advertises.
func (p *Phone) Features() []string { return slices.Clone(p.features) }

// Ver is the XEP-0115 verification string of the phone's caps.
func (p *Phone) Ver() string { return p.ver }

// capsIdentity is a disco#info identity as XEP-0115 §5.1 hashes it.
type capsIdentity = disco.Identity

// capsVer is the XEP-0115 §5.1 verification string with sha-1.
func capsVer(ids []capsIdentity, features []string) string { return disco.CapsVer(ids, features) }

// handle is the phone's OnStanza handler.
func (p *Phone) handle(s *stanza.Stanza) bool {
	switch s.Kind() {
	case stanza.KindIQ:
		if !s.IsIQRequest() {
			return p.takeAsyncReply(s)
		}
		switch name, _ := s.Element(""); {
		case s.Type == "get" && name == xml.Name{Space: nsDiscoInfo, Local: "query"}:
			p.answerDisco(s)
			return true
		case s.Type == "set" && name == xml.Name{Space: jingle.NS, Local: "jingle"}:
			p.onJingle(s)
			return true
		}
	case stanza.KindMessage:
		return p.o.JMI && p.onMessage(s)
	}
	return false
}

func (p *Phone) answerDisco(req *stanza.Stanza) {
	var q struct {
		Node string `xml:"node,attr"`
	}
	_, _ = req.Decode(nsDiscoInfo, "query", &q)
	if q.Node != "" && q.Node != PhoneCapsNode+"#"+p.ver {
		p.reply(stanza.ErrorReply(req, stanza.NewError(stanza.TypeCancel, stanza.ItemNotFound, "no such node")))
		return
	}
	var b strings.Builder
	b.WriteString(`<query xmlns="` + nsDiscoInfo + `"`)
	if q.Node != "" {
		b.WriteString(` node="` + xmlEscape(q.Node) + `"`)
	}
	id := phoneIdentity
	b.WriteString(`><identity category="` + id.Category + `" type="` + id.Type + `" name="` + xmlEscape(id.Name) + `"/>`)
	for _, f := range p.features {
		b.WriteString(`<feature var="` + xmlEscape(f) + `"/>`)
	}
	b.WriteString(`</query>`)
	res, _ := stanza.Result(req, []byte(b.String()))
	p.reply(res)
}

// reply writes an answer from the reader goroutine; a failed write only
// gets logged, the stream's end shows elsewhere.
func (p *Phone) reply(s *stanza.Stanza) {
	if err := p.c.Send(s); err != nil {
		p.logf("reply %s %s: %v", s.Kind(), s.ID, err)
	}
}

func (p *Phone) logf(format string, args ...any) {
	if p.c.logf != nil {
		p.c.logf("phone %s: %s", p.c.JID(), fmt.Sprintf(format, args...))
	}
}

// changedLocked wakes every waiter; p.mu is held.
func (p *Phone) changedLocked() {
	close(p.notify)
	p.notify = make(chan struct{})
}

// wait calls done under p.mu until it reports true, and returns its error;
// or the context's or the stream's end.
func (p *Phone) wait(ctx context.Context, what string, done func() (bool, error)) error {
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
			return fmt.Errorf("phone %s: waiting for %s: %w", p.c.JID(), what, ctx.Err())
		case <-p.c.Done():
			p.mu.Lock()
			ok, err = done()
			p.mu.Unlock()
			if ok {
				return err
			}
			return fmt.Errorf("phone %s: waiting for %s: stream ended: %w", p.c.JID(), what, p.c.Err())
		}
	}
}

// WaitIncoming waits for an incoming call not yet returned: a JMI propose
// (the call is PhoneProposed: Proceed or Reject it) or a session-initiate
// without propose (PhonePending: Accept or Reject it). Calls come in
// arrival order.
func (p *Phone) WaitIncoming(ctx context.Context) (*PhoneCall, error) {
	var call *PhoneCall
	err := p.wait(ctx, "an incoming call", func() (bool, error) {
		if len(p.incoming) == 0 {
			return false, nil
		}
		call = p.incoming[0]
		p.incoming = p.incoming[1:]
		return true, nil
	})
	return call, err
}

// Propose starts an outgoing JMI call: it sends <propose/> for audio to the
// bare JID of to and returns the call in state PhoneProposing, before any
// answer. Initiate continues it; Hangup retracts it. It needs
// PhoneOptions.JMI. Call does all of it.
func (p *Phone) Propose(ctx context.Context, to string, local netip.AddrPort) (*PhoneCall, error) {
	if !p.o.JMI {
		return nil, fmt.Errorf("phone %s: Propose needs PhoneOptions.JMI", p.c.JID())
	}
	call, err := p.newOutgoing(bareJID(to), "", local, PhoneProposing)
	if err != nil {
		return nil, err
	}
	m := jingle.NewJMI(jingle.JMIPropose, call.sid)
	m.Descriptions = []jingle.Description{*jingle.NewDescription("audio")}
	if p.o.Video {
		m.Descriptions = append(m.Descriptions, *jingle.NewDescription("video"))
	}
	if err := p.sendJMI(ctx, call.to, call.proposeID(), m); err != nil {
		call.endFailed(nil)
		return call, err
	}
	return call, nil
}

// Call places a call to a contact with local media address local and
// returns once the session-initiate got its iq result.
//
// With PhoneOptions.JMI it proposes to the bare JID of to, waits for
// <proceed/> from a full JID of that contact and sends the session-initiate
// there; a <reject/> or <retract/> ends the call (the error is a
// *PhoneEndedError with the reason), a message error bouncing the propose
// ends it with that stanza error, and if ctx ends first the proposal is
// retracted with <cancel/>. Without JMI the session-initiate goes to to as
// given (a full JID such as `…@gw/sip`).
//
// The session-initiate has one content name='audio' senders='both'
// creator='initiator' with the codecs and a component-1 raw-UDP candidate
// at local (ICE-UDP with a made-up fingerprint for a phone that has only
// ICE). In WebRTC mode local is ignored and the content is the media
// stack's (name '0', ICE-UDP with a fingerprint, setup actpass, no
// candidate, BUNDLE group); the candidates follow in transport-infos. An
// iq error is returned wrapping the *stanza.Error.
//
// Once the call exists, Call returns it even with an error, ended, so that
// a test can look at it.
func (p *Phone) Call(ctx context.Context, to string, local netip.AddrPort) (*PhoneCall, error) {
	if !p.o.JMI {
		call, err := p.newOutgoing(to, to, local, phoneNew)
		if err != nil {
			return nil, err
		}
		return call, call.initiate(ctx)
	}
	call, err := p.Propose(ctx, to, local)
	if err != nil {
		return call, err
	}
	if err := call.Initiate(ctx); err != nil {
		if ctx.Err() != nil {
			p.mu.Lock()
			proposing := call.state == PhoneProposing
			p.mu.Unlock()
			if proposing {
				rctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
				defer cancel()
				_ = call.terminate(rctx, jingle.NewReason(jingle.Cancel, "no proceed in time"))
			}
		}
		return call, err
	}
	return call, nil
}

// newOutgoing registers an outgoing call to to; peer is "" until known.
func (p *Phone) newOutgoing(to, peer string, local netip.AddrPort, state string) (*PhoneCall, error) {
	if !local.IsValid() && !p.o.WebRTC {
		return nil, fmt.Errorf("phone %s: invalid local media address %v", p.c.JID(), local)
	}
	call := &PhoneCall{p: p, sid: phoneUUID(), outgoing: true, jmi: state == PhoneProposing, to: to, local: local,
		state: state, peer: peer, contentName: "audio"}
	p.mu.Lock()
	p.calls[call.sid] = call
	p.mu.Unlock()
	return call, nil
}

// newID is a stanza id unique within the client and, being partly random,
// among clients too.
func (p *Phone) newID() string { return p.idPrefix + p.c.NewID() }

// sendJMI sends a JMI element in a chat message with a store hint.
func (p *Phone) sendJMI(ctx context.Context, to, id string, m *jingle.JMI) error {
	b, err := jingle.MarshalJMI(m)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", m.Kind(), err)
	}
	if id == "" {
		id = p.newID()
	}
	msg := &stanza.Stanza{XMLName: xml.Name{Local: string(stanza.KindMessage)}, Type: "chat", To: to, ID: id,
		Payload: append(b, `<store xmlns="`+nsHints+`"/>`...)}
	raw, err := msg.Marshal()
	if err != nil {
		return err
	}
	if err := p.c.writeRaw(ctx, string(raw)); err != nil {
		return fmt.Errorf("phone %s: send %s %s to %s: %w", p.c.JID(), m.Kind(), m.ID, to, err)
	}
	return nil
}

// sendJingle sends a Jingle iq set and waits for its result.
func (p *Phone) sendJingle(ctx context.Context, to string, j *jingle.Jingle) error {
	b, err := xml.Marshal(j)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", j.Action, err)
	}
	if _, err := p.c.SendIQ(ctx, &stanza.Stanza{Type: "set", To: to, ID: p.newID(), Payload: b}); err != nil {
		return fmt.Errorf("phone %s: %s %s: %w", p.c.JID(), j.Action, j.SID, err)
	}
	return nil
}

// localTransport is the transport the phone offers or answers with: raw
// UDP with one component-1 candidate at local, or for a phone that has
// only ICE an ICE-UDP transport with a host candidate there and a made-up
// DTLS fingerprint (signalling only: the phone runs neither).
func (p *Phone) localTransport(local netip.AddrPort) *jingle.Transport {
	cand := phoneCandidate(local)
	if p.o.RawUDP {
		t := jingle.NewTransport(jingle.NSRawUDP)
		t.Candidates = []jingle.Candidate{cand}
		return t
	}
	t := jingle.NewTransport(jingle.NSICEUDP)
	t.Ufrag, t.Pwd = rand.Text()[:8], rand.Text()
	var sum [32]byte
	_, _ = rand.Read(sum[:])
	fp := make([]string, len(sum))
	for i, c := range sum {
		fp[i] = fmt.Sprintf("%02X", c)
	}
	t.Fingerprints = []jingle.Fingerprint{{Hash: "sha-256", Setup: "actpass", Value: strings.Join(fp, ":")}}
	cand.Foundation, cand.Priority, cand.Protocol, cand.Type = "1", 2130706431, "udp", "host"
	t.Candidates = []jingle.Candidate{cand}
	return t
}

// phoneCandidate is a raw-UDP component-1 candidate at local.
func phoneCandidate(local netip.AddrPort) jingle.Candidate {
	return jingle.Candidate{Component: 1, Generation: 0, ID: "c" + strings.ToLower(rand.Text()[:10]),
		IP: local.Addr().Unmap().String(), Port: local.Port()}
}

// phoneUUID is a random (version 4) UUID, the form XEP-0353 §5 asks for.
func phoneUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// sameJID compares full JIDs: local part and domain without case, resource
// exactly.
func sameJID(a, b string) bool {
	ab, ar, _ := strings.Cut(a, "/")
	bb, br, _ := strings.Cut(b, "/")
	return strings.EqualFold(ab, bb) && ar == br
}

func sameBare(a, b string) bool { return strings.EqualFold(bareJID(a), bareJID(b)) }
