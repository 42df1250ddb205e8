package gateway

import (
	"errors"

	"fargo.dev/fargo/internal/jingle"
)

// Why a relayed call's media ended by itself; the relay adapter wraps its
// own errors in these so the core can name the reason to both sides.
var (
	ErrMediaIdle      = errors.New("no media received")
	ErrMediaHandshake = errors.New("the ICE or DTLS handshake with the client failed")
	ErrRelayFull      = errors.New("the media relay is at its limit of relayed calls")
)

// useRelay puts the call's media through the relay; ice picks the XMPP
// leg's transport when the gateway makes the offer to the user.
func (c *call) useRelay(ice bool) error {
	p, err := c.u.g.relay.Open(ice, c.relayEnded)
	if err != nil {
		return err
	}
	c.media.Close()
	c.media = p
	c.log = c.log.With("media", "relay")
	return nil
}

// relayEnded is the relay's report that the media stopped by itself; it
// may come from any goroutine, even after the call ended.
func (c *call) relayEnded(err error) {
	c.u.post(func() {
		if c.state == stateEnded {
			return
		}
		c.log.Info("relayed media ended", "err", err)
		cond := jingle.ConnectivityError
		if errors.Is(err, ErrMediaHandshake) {
			cond = jingle.FailedTransport
		}
		c.end(jingle.NewReason(cond, err.Error()))
	})
}

// sipGroup is the grouping the SIP side sees: the relay's plain RTP leg
// has no BUNDLE.
func (c *call) sipGroup() *jingle.Group {
	if c.media.Relayed() {
		return nil
	}
	return c.userGroup
}

// bundleOf groups contents for an ICE client, as their own offers do.
func bundleOf(contents []jingle.Content) *jingle.Group {
	g := &jingle.Group{Semantics: "BUNDLE"}
	for _, ct := range contents {
		g.Contents = append(g.Contents, jingle.GroupContent{Name: ct.Name})
	}
	return g
}
