package loadgen

import (
	"strings"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// XMPPSimulated is Result.Config.XMPPServer when the load generator played
// the XMPP server itself (Config.ComponentListen).
const XMPPSimulated = "simulated by fargo bench (component side)"

// simUser is one user as the simulated server routes for it: no socket,
// only what the exchange with the gateway needs.
type simUser struct {
	idx        int
	bare, full string
	registered atomic.Bool  // the gateway accepted its registration: probes are answered
	sentAt     atomic.Int64 // unix ns of its first available presence, 0 before
	reg        chan *stanza.Stanza
	avail      chan struct{}
}

// simServer is the routing side of the simulated XMPP server: what the
// gateway sends to a user or to the server is answered here, as a server
// and the user's client together would answer it.
type simServer struct {
	cfg   Config
	comp  *compServer
	users []*simUser
}

func newSimServer(cfg Config, comp *compServer) *simServer {
	s := &simServer{cfg: cfg, comp: comp, users: make([]*simUser, cfg.Users)}
	for i := range s.users {
		bare := userName(cfg.UserPrefix, i) + "@" + cfg.XMPPDomain
		s.users[i] = &simUser{idx: i, bare: bare, full: bare + "/bench",
			reg: make(chan *stanza.Stanza, 1), avail: make(chan struct{}, 1)}
	}
	return s
}

// regID is the id of user i's registration iq.
func regID(i int) string { return "reg" + userName("", i) }

// userOf is the simulated user a JID names, nil if none.
func (s *simServer) userOf(j string) *simUser {
	local, domain, ok := strings.Cut(bareOf(j), "@")
	if !ok || !strings.EqualFold(domain, s.cfg.XMPPDomain) {
		return nil
	}
	i := userIndex(s.cfg.UserPrefix, local)
	if i < 0 || i >= len(s.users) {
		return nil
	}
	return s.users[i]
}

// handle runs on the component reader for every stanza from the gateway.
func (s *simServer) handle(st *stanza.Stanza) {
	u := s.userOf(st.To)
	switch st.Kind() {
	case stanza.KindPresence:
		if u != nil {
			s.presence(u, st)
		}
	case stanza.KindIQ:
		switch st.Type {
		case "result", "error":
			if u != nil && st.ID == regID(u.idx) {
				select {
				case u.reg <- st:
				default:
				}
			}
		case "get", "set":
			s.request(u, st)
		}
	}
}

// presence answers what the gateway sends a user: its subscription
// request is approved (the bench users accept the gateway), after which a
// server sends the user's current presence; probes get that presence too;
// the gateway's own available presence means the SIP REGISTER got its 200.
func (s *simServer) presence(u *simUser, st *stanza.Stanza) {
	switch st.Type {
	case "subscribe":
		s.comp.send(`<presence from='` + u.bare + `' to='` + s.cfg.Component + `' type='subscribed'/>`)
		s.available(u)
	case "probe":
		if u.registered.Load() {
			s.available(u)
		}
	case "":
		// The gateway also announces itself when a registration's checking
		// REGISTER succeeds, before the user is online: only a presence
		// after the user's own counts (both are ordered on this goroutine).
		if bareOf(st.From) == s.cfg.Component && u.sentAt.Load() != 0 {
			select {
			case u.avail <- struct{}{}:
			default:
			}
		}
	}
}

// available sends the user's available presence with caps, as its server
// broadcasts it to the subscribed gateway.
func (s *simServer) available(u *simUser) {
	u.sentAt.CompareAndSwap(0, time.Now().UnixNano())
	s.comp.send(`<presence from='` + u.full + `' to='` + s.cfg.Component + `'><c xmlns='` + nsCaps +
		`' hash='sha-1' node='` + capsNode + `' ver='` + capsVer + `'/></presence>`)
}

// request answers an iq get or set from the gateway, to a user's device
// (its client would answer) or to the server or a bare JID (the server
// would): disco#info with the device's features, ping and roster with an
// empty result, anything else service-unavailable, so nothing waits.
func (s *simServer) request(u *simUser, st *stanza.Stanza) {
	name, _ := st.Element("") // an iq request has one child
	reply := func(payload string) {
		s.comp.send(`<iq type='result' id='` + xmlEscape(st.ID) + `' from='` + xmlEscape(st.To) + `' to='` + xmlEscape(st.From) + `'>` + payload + `</iq>`)
	}
	switch {
	case name.Space == nsDiscoInfo && st.Type == "get" && u != nil:
		reply(discoInfo(st))
	case name.Space == nsDiscoInfo && st.Type == "get":
		reply(`<query xmlns='` + nsDiscoInfo + `'><identity category='server' type='im'/><feature var='` + nsDiscoInfo + `'/></query>`)
	case name.Space == "urn:xmpp:ping":
		reply("")
	case name.Space == "jabber:iq:roster" && st.Type == "get":
		reply(`<query xmlns='jabber:iq:roster'/>`)
	default:
		s.comp.send(`<iq type='error' id='` + xmlEscape(st.ID) + `' from='` + xmlEscape(st.To) + `' to='` + xmlEscape(st.From) +
			`'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	}
}
