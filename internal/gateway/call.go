package gateway

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/netip"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/jinglesdp"
)

// callDir says who placed a call.
type callDir int

const (
	outgoing callDir = iota // the XMPP user called a SIP address
	incoming                // a SIP caller rang the XMPP user
)

func (d callDir) String() string {
	if d == incoming {
		return "incoming"
	}
	return "outgoing"
}

// callState is where a call stands, the same for both directions.
type callState int

const (
	stateProposed  callState = iota // JMI exchanged, no Jingle session yet
	stateGathering                  // outgoing: waiting for trickled candidates
	stateCalling                    // outgoing: INVITE sent; incoming: devices ringing
	stateAnswering                  // incoming: a device accepted, 200 sent, waiting for ACK
	stateActive                     // media flows
	stateEnded
)

// call is one call, owned by its user's actor: every field is touched only
// by closures running on the user's mailbox. The state is kept in plain
// values (sid, addresses, both sides' media, SIP dialog id) so it can be
// persisted and a direct-media call picked up after a restart.
type call struct {
	u     *user
	log   *slog.Logger
	sid   string
	dir   callDir
	state callState

	contact     string // the SIP party's bare contact JID
	contactFull string // contact/sip: the Jingle party the user talks to
	target      string // the SIP URI called (outgoing) or calling (incoming)
	peer        string // the user's full JID in the session ("" while ringing)
	jmi         bool   // the session was set up with Jingle Message Initiation
	ringingSent bool   // outgoing: the user was told the far end rings

	sip SIPCall // the SIP dialog, nil before the INVITE
	// sipHandedOff: a CANCEL or BYE is under way and whoever sent it
	// releases the dialog.
	sipHandedOff bool
	in           SIPIncoming // incoming: the INVITE waiting for an answer
	media        MediaPath

	// The user's side of the media (their offer for outgoing calls, their
	// answer for incoming ones) and the SIP side's latest SDP.
	userContents []jingle.Content
	userGroup    *jingle.Group
	sipMedia     *jinglesdp.Media
	sipOffer     *jinglesdp.Media // incoming: the INVITE's offer, mirrored by every answer
	offerToUser  []jingle.Content // incoming: what the user's devices were offered
	sipKept      []jingle.Content // incoming: the SIP offer's media the users' clients can take
	origin       jinglesdp.Origin // our o= towards the SIP side
	held         bool             // the user put the call on hold
	remoteHeld   bool             // the SIP side put the call on hold

	// incoming: the devices rung with a session-initiate (full JID → still
	// ringing) and whether a JMI propose went to the bare JID.
	rung       map[string]bool
	proposed   bool
	timer      *time.Timer
	timerGen   int
	started    time.Time
	answeredAt time.Time
	// phaseStart is when the message that began the current gateway-side
	// setup phase arrived (see LatencyPhase); zero when the phase includes
	// waiting for a peer.
	phaseStart time.Time
}

func newCall(u *user, sid string, dir callDir, contact string) *call {
	c := &call{
		u: u, sid: sid, dir: dir, contact: contact,
		contactFull: contact + "/" + contactResource,
		media:       directPath{},
		origin:      newOrigin(),
		started:     time.Now(),
	}
	c.log = u.log.With("sid", sid, "dir", dir.String(), "contact", contact)
	return c
}

func newOrigin() jinglesdp.Origin { return jinglesdp.NewOrigin(netip.IPv4Unspecified()) }

// nextOrigin is the o= of the next SDP towards the SIP side; its address
// is the media address the SDP announces (RFC 8866 §5.2 wants one of ours).
func (c *call) nextOrigin(contents []jingle.Content) jinglesdp.Origin {
	if c.origin.Address.IsUnspecified() {
		for _, ct := range contents {
			if ct.Transport == nil {
				continue
			}
			for _, cand := range ct.Transport.Candidates {
				if a, err := netip.ParseAddr(cand.IP); err == nil {
					c.origin.Address = a
					break
				}
			}
		}
	}
	c.origin = c.origin.Next()
	return c.origin
}

// userRole is the user's Jingle role in the session.
func (c *call) userRole() jingle.Role {
	if c.dir == outgoing {
		return jingle.RoleInitiator
	}
	return jingle.RoleResponder
}

// sipRole is the Jingle role the SIP party plays (and authors SDP in).
func (c *call) sipRole() jingle.Role {
	if c.dir == outgoing {
		return jingle.RoleResponder
	}
	return jingle.RoleInitiator
}

// arm (re)starts the call's one timer; fire runs on the actor unless the
// timer was re-armed or the call ended meanwhile.
func (c *call) arm(d time.Duration, fire func()) {
	c.timerGen++
	gen := c.timerGen
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(d, func() {
		c.u.post(func() {
			if c.timerGen == gen && c.state != stateEnded {
				fire()
			}
		})
	})
}

func (c *call) disarm() {
	c.timerGen++
	if c.timer != nil {
		c.timer.Stop()
	}
}

// callContext bounds SIP requests made on behalf of the call.
func (c *call) callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.u.ctx, 32*time.Second)
}

// newID returns a random identifier for stanzas and sessions.
func newID() string { return rand.Text() }
