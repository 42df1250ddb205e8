package gateway

import (
	"strconv"
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

// BenchmarkOutgoingCall is the gateway's own work for one signalling-only
// call from XMPP to SIP, without the transports: session-initiate decoded
// and translated to an INVITE offer, the 200's SDP translated to a
// session-accept, session-terminate turned into a BYE. The harness's
// matching of what is sent is included, so it is an upper bound.
func BenchmarkOutgoingCall(b *testing.B) {
	h, calls, _ := callHarness(b, func(c *Config) { c.Calls.MaxPerUser, c.Calls.MaxTotal = 1<<20, 1<<20 })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		sid := "S" + strconv.Itoa(i)
		h.in(rawUDPInitiate("si"+sid, sid, bobFull))
		h.reply("si" + sid)
		c := <-calls.ch
		c.h.CallEvent(SIPEvent{Kind: SIPAnswered, Status: 200, Body: []byte(sipAnswer)})
		h.expect("session-accept", jingleTo(aliceRes, jingle.ActionSessionAccept))
		h.in(`<iq type="set" id="t` + sid + `" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="` + sid + `"><reason><success/></reason></jingle></iq>`)
		h.reply("t" + sid)
		h.pending = h.pending[:0]
	}
}
