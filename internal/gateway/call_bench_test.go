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
// account-reads/op counts the store's Account and AccountByToken calls,
// which a call must not make (docs/performance.md: a fifth of the CPU).
func BenchmarkOutgoingCall(b *testing.B) {
	h, calls, _ := callHarness(b, func(c *Config) { c.Calls.MaxPerUser, c.Calls.MaxTotal = 1<<20, 1<<20 })
	reads := h.store.accountReads.Load()
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
	b.ReportMetric(float64(h.store.accountReads.Load()-reads)/float64(b.N), "account-reads/op")
}

// BenchmarkIncomingCall is the gateway's work for an INVITE to a user's
// contact token that rings one device and is cancelled: routing the token
// to the user, the offer translated to a session-initiate, the CANCEL
// turned into a session-terminate. account-reads/op as above.
func BenchmarkIncomingCall(b *testing.B) {
	h, _, iq := callHarness(b, func(c *Config) { c.Calls.MaxPerUser, c.Calls.MaxTotal = 1<<20, 1<<20 })
	iq.features[aliceRes] = plainPhone
	a, err := h.store.Account(b.Context(), alice)
	if err != nil {
		b.Fatal(err)
	}
	reads := h.store.accountReads.Load()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c := &fakeCall{id: "in-" + strconv.Itoa(i), token: a.ContactToken, from: "sip:carol@sip.example.org", offer: sipOffer}
		if c.h = h.gw.IncomingCall(c); c.h == nil {
			b.Fatal("incoming call refused")
		}
		h.expect("session-initiate", jingleTo(aliceRes, jingle.ActionSessionInitiate))
		c.h.CallEvent(SIPEvent{Kind: SIPCancelled})
		h.expect("session-terminate", jingleTo(aliceRes, jingle.ActionSessionTerminate))
		h.pending = h.pending[:0]
	}
	b.ReportMetric(float64(h.store.accountReads.Load()-reads)/float64(b.N), "account-reads/op")
}
