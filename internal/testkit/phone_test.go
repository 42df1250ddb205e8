package testkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/leakcheck"
	"fargo.dev/fargo/internal/stanza"
)

var (
	aliceMedia = netip.MustParseAddrPort("127.0.0.1:40000")
	bobMedia   = netip.MustParseAddrPort("127.0.0.1:40002")
)

// phoneDial logs jid in at r and makes it a phone (o == nil: a plain client).
func phoneDial(t *testing.T, r *phoneRouter, jid string, o *PhoneOptions) (*Client, *Phone) {
	t.Helper()
	c, err := Dial(withTimeout(t), r.addr(), jid, "pw", Logf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if o == nil {
		return c, nil
	}
	p, err := NewPhone(c, *o)
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

// incoming waits for p's next incoming call.
func incoming(t *testing.T, p *Phone) *PhoneCall {
	t.Helper()
	call, err := p.WaitIncoming(withTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	return call
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func isInfo(local string) func(jingle.Element) bool {
	return func(e jingle.Element) bool { return e.XMLName.Local == local }
}

func TestPhoneCapsVerXEP0115Example(t *testing.T) {
	// XEP-0115 §5.2
	ver := capsVer([]capsIdentity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}}, []string{
		"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
		"http://jabber.org/protocol/muc", "http://jabber.org/protocol/caps",
	})
	if ver != "QgayPKawpkPSDYmwT/WM94uAlu0=" {
		t.Fatalf("ver = %q", ver)
	}
}

func TestPhoneDiscoAndCaps(t *testing.T) {
	r := newPhoneRouter(t)
	carol, _ := phoneDial(t, r, "carol@example.test/x", nil)
	alice, phone := phoneDial(t, r, "alice@example.test/phone", &PhoneOptions{JMI: true})
	want := []string{nsDiscoInfo, nsCaps, jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSRawUDP, jingle.NSJMI, jingle.NSDTMF, nsReceipts}
	if !slices.Equal(phone.Features(), want) {
		t.Fatalf("features %v, want %v", phone.Features(), want)
	}
	caps := `node="` + PhoneCapsNode + `" ver="` + phone.Ver() + `"`
	hasCaps := func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.From == alice.JID() && strings.Contains(string(s.Payload), caps)
	}
	if _, err := carol.Expect(withTimeout(t), hasCaps); err != nil {
		t.Fatal(err)
	}
	must(t, "presence", alice.Presence(withTimeout(t), "", "", "away", ""))
	if _, err := carol.Expect(withTimeout(t), hasCaps); err != nil {
		t.Fatalf("a later presence lost the caps: %v", err)
	}

	for _, node := range []string{"", PhoneCapsNode + "#" + phone.Ver()} {
		res, err := carol.SendIQ(withTimeout(t), &stanza.Stanza{Type: "get", To: alice.JID(),
			Payload: []byte(`<query xmlns="` + nsDiscoInfo + `" node="` + node + `"/>`)})
		must(t, "disco#info", err)
		var q struct {
			Node       string `xml:"node,attr"`
			Identities []struct {
				Category string `xml:"category,attr"`
				Type     string `xml:"type,attr"`
				Name     string `xml:"name,attr"`
			} `xml:"identity"`
			Features []struct {
				Var string `xml:"var,attr"`
			} `xml:"feature"`
		}
		if found, err := res.Decode(nsDiscoInfo, "query", &q); !found || err != nil {
			t.Fatalf("disco#info result %s: %v", res.Payload, err)
		}
		var ids []capsIdentity
		for _, id := range q.Identities {
			ids = append(ids, capsIdentity{Category: id.Category, Type: id.Type, Name: id.Name})
		}
		var fs []string
		for _, f := range q.Features {
			fs = append(fs, f.Var)
		}
		if q.Node != node || capsVer(ids, fs) != phone.Ver() || !slices.Equal(fs, want) {
			t.Fatalf("disco#info node %q: %s", node, res.Payload)
		}
	}
	_, err := carol.SendIQ(withTimeout(t), &stanza.Stanza{Type: "get", To: alice.JID(),
		Payload: []byte(`<query xmlns="` + nsDiscoInfo + `" node="` + PhoneCapsNode + `#stale"/>`)})
	if se := (*stanza.Error)(nil); !errors.As(err, &se) || se.Condition != stanza.ItemNotFound {
		t.Fatalf("stale caps node: %v", err)
	}

	_, ice := phoneDial(t, r, "alice@example.test/ice", &PhoneOptions{ICE: true})
	if f := ice.Features(); slices.Contains(f, jingle.NSRawUDP) || !slices.Contains(f, jingle.NSICEUDP) ||
		!slices.Contains(f, jingle.NSDTLS) || slices.Contains(f, jingle.NSJMI) {
		t.Fatalf("ICE-only features %v", f)
	}
}

// TestPhoneJMICall: propose to the bare JID, ringing, proceed,
// session-initiate, accept, hangup.
func TestPhoneJMICall(t *testing.T) {
	r := newPhoneRouter(t)
	_, alice := phoneDial(t, r, "alice@example.test/phone", &PhoneOptions{JMI: true})
	bobc, bob := phoneDial(t, r, "bob@example.test/desk", &PhoneOptions{JMI: true})

	type result struct {
		call *PhoneCall
		err  error
	}
	placed := make(chan result, 1)
	go func() {
		call, err := alice.Call(withTimeout(t), "bob@example.test", aliceMedia)
		placed <- result{call, err}
	}()
	in := incoming(t, bob)
	if in.State() != PhoneProposed || in.Peer() != "alice@example.test/phone" || in.Offer() != nil {
		t.Fatalf("proposed call: state %s peer %s", in.State(), in.Peer())
	}
	must(t, "ringing", in.Ringing(withTimeout(t)))
	must(t, "proceed", in.Proceed(withTimeout(t)))
	must(t, "session-initiate", in.WaitSessionInitiate(withTimeout(t)))
	res := <-placed
	must(t, "call", res.err)
	out := res.call
	must(t, "caller hears ringing", out.WaitRinging(withTimeout(t)))
	if out.Peer() != bobc.JID() || out.State() != PhonePending || in.State() != PhonePending || in.SID() != out.SID() {
		t.Fatalf("after initiate: peer %s, states %s/%s, sids %s/%s", out.Peer(), out.State(), in.State(), out.SID(), in.SID())
	}
	offer := in.Offer()
	c := offer.Contents[0]
	if offer.Action != jingle.ActionSessionInitiate || len(offer.Contents) != 1 || c.Name != "audio" || c.Senders != jingle.SendersBoth ||
		c.Creator != jingle.RoleInitiator || !c.Transport.IsRawUDP() || len(c.Description.PayloadTypes) != 3 {
		t.Fatalf("offer %+v", offer)
	}
	if cand := c.Transport.Candidates[0]; cand.Component != 1 || cand.ID == "" || cand.IP != "127.0.0.1" || cand.Port != 40000 {
		t.Fatalf("candidate %+v", cand)
	}
	if addr, ok := in.Remote(); !ok || addr != aliceMedia {
		t.Fatalf("callee sees remote %v %v", addr, ok)
	}

	must(t, "accept", in.Accept(withTimeout(t), bobMedia))
	must(t, "accepted", out.WaitAccepted(withTimeout(t)))
	if addr, ok := out.Remote(); !ok || addr != bobMedia {
		t.Fatalf("caller sees remote %v %v", addr, ok)
	}
	for _, call := range []*PhoneCall{in, out} {
		if pt, ok := call.Codec(); !ok || pt.Name != "PCMU" || pt.ID != 0 || call.State() != PhoneActive {
			t.Fatalf("codec %+v %v, state %s", pt, ok, call.State())
		}
	}
	if pts := out.Answer().Contents[0].Description.PayloadTypes; len(pts) != 2 || pts[1].Name != "telephone-event" {
		t.Fatalf("answer codecs %+v", pts)
	}

	must(t, "hangup", out.Hangup(withTimeout(t), jingle.Success, "bye"))
	reason, err := in.WaitEnded(withTimeout(t))
	if err != nil || reason == nil || reason.Condition != jingle.Success || reason.Text != "bye" {
		t.Fatalf("callee's end: %+v %v", reason, err)
	}
	if reason, err := out.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Success {
		t.Fatalf("caller's end: %+v %v", reason, err)
	}
	var ended *PhoneEndedError
	if err := out.Hold(withTimeout(t)); !errors.As(err, &ended) || !ended.Local {
		t.Fatalf("hold after the end: %v", err)
	}
}

// TestPhoneDirectCall: session-initiate to a full JID, ringing, accept,
// hold, unhold, DTMF, hangup by the callee.
func TestPhoneDirectCall(t *testing.T) {
	r := newPhoneRouter(t)
	_, alice := phoneDial(t, r, "alice@example.test/phone", &PhoneOptions{})
	_, bob := phoneDial(t, r, "bob@example.test/desk", &PhoneOptions{JMI: true})

	out, err := alice.Call(withTimeout(t), "bob@example.test/desk", aliceMedia)
	must(t, "call", err)
	in := incoming(t, bob)
	if in.State() != PhonePending || in.Offer() == nil || in.Peer() != "alice@example.test/phone" {
		t.Fatalf("incoming direct call: %s %s", in.State(), in.Peer())
	}
	must(t, "ringing", in.Ringing(withTimeout(t)))
	must(t, "ringing heard", out.WaitRinging(withTimeout(t)))
	if e, err := out.WaitInfo(withTimeout(t), nil); err != nil || e.XMLName.Space != jingle.NSRTPInfo || e.XMLName.Local != jingle.InfoRinging {
		t.Fatalf("ringing as info: %+v %v", e, err)
	}
	must(t, "accept", in.Accept(withTimeout(t), bobMedia))
	must(t, "accepted", out.WaitAccepted(withTimeout(t)))

	must(t, "hold", out.Hold(withTimeout(t)))
	must(t, "unhold", out.Unhold(withTimeout(t)))
	must(t, "dtmf", out.DTMF(withTimeout(t), '#', 120*time.Millisecond))
	if err := out.DTMF(withTimeout(t), 'x', 0); err == nil {
		t.Fatal("DTMF x accepted")
	}
	// out of order on purpose: WaitInfo finds any queued payload
	e, err := in.WaitInfo(withTimeout(t), func(e jingle.Element) bool { return e.XMLName.Space == jingle.NSDTMF })
	must(t, "dtmf received", err)
	if d, err := jingle.ParseDTMF(e); err != nil || d.Code != '#' || d.Duration != 120 {
		t.Fatalf("dtmf %+v %v", d, err)
	}
	for _, name := range []string{jingle.InfoHold, jingle.InfoUnhold} {
		if _, err := in.WaitInfo(withTimeout(t), isInfo(name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	must(t, "hangup", in.Hangup(withTimeout(t), jingle.Success, ""))
	if reason, err := out.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Success {
		t.Fatalf("caller's end: %+v %v", reason, err)
	}
	var ended *PhoneEndedError
	if _, err := out.WaitInfo(withTimeout(t), isInfo(jingle.InfoHold)); !errors.As(err, &ended) || ended.Local || ended.Reason.Condition != jingle.Success {
		t.Fatalf("WaitInfo after the end: %v", err)
	}
}

func TestPhoneRejectBusy(t *testing.T) {
	r := newPhoneRouter(t)
	_, alice := phoneDial(t, r, "alice@example.test/phone", &PhoneOptions{JMI: true})
	_, direct := phoneDial(t, r, "alice@example.test/old", &PhoneOptions{})
	_, bob := phoneDial(t, r, "bob@example.test/desk", &PhoneOptions{JMI: true})

	t.Run("JMI reject", func(t *testing.T) {
		errs := make(chan error, 1)
		var out *PhoneCall
		go func() {
			var err error
			out, err = alice.Call(withTimeout(t), "bob@example.test", aliceMedia)
			errs <- err
		}()
		in := incoming(t, bob)
		must(t, "reject", in.Reject(withTimeout(t), jingle.Busy))
		var ended *PhoneEndedError
		if err := <-errs; !errors.As(err, &ended) || ended.Local || ended.Reason == nil || ended.Reason.Condition != jingle.Busy {
			t.Fatalf("Call = %v, want ended with busy", err)
		}
		if reason, err := out.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Busy || out.State() != PhoneEnded {
			t.Fatalf("WaitEnded %+v %v", reason, err)
		}
	})
	t.Run("session-terminate busy", func(t *testing.T) {
		out, err := direct.Call(withTimeout(t), "bob@example.test/desk", aliceMedia)
		must(t, "call", err)
		in := incoming(t, bob)
		must(t, "reject", in.Reject(withTimeout(t), jingle.Busy))
		if reason, err := out.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Busy {
			t.Fatalf("WaitEnded %+v %v", reason, err)
		}
		if err := out.WaitAccepted(withTimeout(t)); err == nil {
			t.Fatal("WaitAccepted on a rejected call succeeded")
		}
	})
}

func TestPhoneRetractAndBounces(t *testing.T) {
	r := newPhoneRouter(t)
	_, alice := phoneDial(t, r, "alice@example.test/phone", &PhoneOptions{JMI: true})
	_, direct := phoneDial(t, r, "alice@example.test/old", &PhoneOptions{})
	_, bob := phoneDial(t, r, "bob@example.test/desk", &PhoneOptions{JMI: true})

	// Propose, ringing, then retract with Hangup.
	out, err := alice.Propose(withTimeout(t), "bob@example.test/ignored", aliceMedia)
	must(t, "propose", err)
	in := incoming(t, bob)
	must(t, "JMI ringing", in.Ringing(withTimeout(t)))
	must(t, "ringing heard", out.WaitRinging(withTimeout(t)))
	must(t, "retract", out.Hangup(withTimeout(t), jingle.Cancel, "changed my mind"))
	if reason, err := in.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Cancel || reason.Text != "changed my mind" {
		t.Fatalf("retracted: %+v %v", reason, err)
	}
	if err := in.Proceed(withTimeout(t)); err == nil {
		t.Fatal("proceed after retract")
	}

	// Call gives up when ctx ends before proceed: it retracts.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = alice.Call(ctx, "bob@example.test", aliceMedia)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call without proceed: %v", err)
	}
	in = incoming(t, bob)
	if reason, err := in.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Cancel {
		t.Fatalf("retracted on timeout: %+v %v", reason, err)
	}

	// A bounced propose and a bounced session-initiate carry the stanza error.
	var se *stanza.Error
	call, err := alice.Call(withTimeout(t), "nobody@example.test", aliceMedia)
	if !errors.As(err, &se) || se.Condition != stanza.ServiceUnavailable || call == nil || call.State() != PhoneEnded {
		t.Fatalf("propose to nobody: %v", err)
	}
	if _, err := direct.Call(withTimeout(t), "nobody@example.test/x", aliceMedia); !errors.As(err, &se) || se.Condition != stanza.ServiceUnavailable {
		t.Fatalf("session-initiate to nobody: %v", err)
	}
}

// TestPhoneCarbons: bob has two JMI phones with carbons; the propose to his
// bare JID rings both, and the one that proceeds ends the other's call.
func TestPhoneCarbons(t *testing.T) {
	r := newPhoneRouter(t)
	_, alice := phoneDial(t, r, "alice@example.test/phone", &PhoneOptions{JMI: true})
	_, one := phoneDial(t, r, "bob@example.test/one", &PhoneOptions{JMI: true, Carbons: true})
	_, two := phoneDial(t, r, "bob@example.test/two", &PhoneOptions{JMI: true, Carbons: true})

	errs := make(chan error, 1)
	go func() {
		_, err := alice.Call(withTimeout(t), "bob@example.test", aliceMedia)
		errs <- err
	}()
	in1 := incoming(t, one)
	in2 := incoming(t, two)
	must(t, "proceed", in1.Proceed(withTimeout(t)))
	reason, err := in2.WaitEnded(withTimeout(t))
	if err != nil || reason.Condition != jingle.Cancel || reason.Text != "answered elsewhere by bob@example.test/one" {
		t.Fatalf("other device: %+v %v", reason, err)
	}
	must(t, "session-initiate", in1.WaitSessionInitiate(withTimeout(t)))
	must(t, "call", <-errs)
	must(t, "accept", in1.Accept(withTimeout(t), bobMedia))
}

// TestPhoneAgainstRawJingle drives a phone with hand-written stanzas like
// the gateway's (protocol-map §3.10 B1).
func TestPhoneAgainstRawJingle(t *testing.T) {
	r := newPhoneRouter(t)
	gw, _ := phoneDial(t, r, "gw@example.test/sip", nil)
	bobc, bob := phoneDial(t, r, "bob@example.test/desk", &PhoneOptions{})
	set := func(jingleXML string) (*stanza.Stanza, error) {
		return gw.SendIQ(withTimeout(t), &stanza.Stanza{Type: "set", To: bobc.JID(), Payload: []byte(jingleXML)})
	}
	jingleErr := func(what string, res *stanza.Stanza, err error, cond stanza.Condition, app string) {
		t.Helper()
		var se *stanza.Error
		if !errors.As(err, &se) || se.Condition != cond || !strings.Contains(string(res.Payload), `<`+app+` xmlns="`+jingle.NSErrors+`"`) {
			t.Fatalf("%s: %v, want %s with %s", what, err, cond, app)
		}
	}

	const sid = "5d1f3b0e-2c44-4e7a-8d0b-6a9f1e2c3b4d"
	head := `<jingle xmlns='urn:xmpp:jingle:1' sid='` + sid + `' `
	_, err := set(head + `action='session-initiate' initiator='gw@example.test/sip'>
  <content creator='initiator' name='audio' senders='both'>
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
      <payload-type id='9' name='G722' clockrate='8000' ptime='20'/>
      <payload-type id='8' name='PCMA' clockrate='8000' ptime='20'/>
      <payload-type id='0' name='PCMU' clockrate='8000' ptime='20'/>
      <payload-type id='101' name='telephone-event' clockrate='8000' ptime='20'><parameter name='events' value='0-16'/></payload-type>
    </description>
    <transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'>
      <candidate component='1' generation='0' id='r1' ip='198.51.100.50' port='10006'/>
      <candidate component='2' generation='0' id='r2' ip='198.51.100.50' port='10007'/>
    </transport>
  </content>
</jingle>`)
	must(t, "session-initiate", err)
	in := incoming(t, bob)
	if addr, ok := in.Remote(); !ok || addr != netip.MustParseAddrPort("198.51.100.50:10006") {
		t.Fatalf("remote %v %v", addr, ok)
	}
	res, err := set(head + `action='session-accept'><content creator='initiator' name='audio'/></jingle>`)
	jingleErr("session-accept to the callee", res, err, stanza.UnexpectedRequest, "out-of-order")

	accepted := make(chan error, 1)
	go func() { accepted <- in.Accept(withTimeout(t), bobMedia) }()
	iq, err := gw.Expect(withTimeout(t), func(s *stanza.Stanza) bool { return s.IsIQRequest() && s.From == bobc.JID() })
	must(t, "session-accept", err)
	var acc jingle.Jingle
	if _, err := iq.Decode(jingle.NS, "jingle", &acc); err != nil || acc.Action != jingle.ActionSessionAccept || acc.SID != sid || acc.Responder != bobc.JID() {
		t.Fatalf("session-accept %s: %v", iq.Payload, err)
	}
	content := acc.Contents[0]
	if pts := content.Description.PayloadTypes; len(pts) != 2 || pts[0].ID != 8 || pts[1].ID != 101 || pts[1].Params[0].Value != "0-16" {
		t.Fatalf("answered codecs %+v", pts)
	}
	if cands := content.Transport.Candidates; !content.Transport.IsRawUDP() || len(cands) != 1 || cands[0].IP != "127.0.0.1" || cands[0].Port != 40002 {
		t.Fatalf("answered transport %+v", content.Transport)
	}
	ack, _ := stanza.Result(iq)
	must(t, "ack", gw.Send(ack))
	must(t, "accept", <-accepted)
	if pt, _ := in.Codec(); pt.Name != "PCMA" {
		t.Fatalf("codec %+v", pt)
	}

	_, err = set(head + `action='transport-info'><content creator='initiator' name='audio'><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'>
		<candidate component='1' generation='1' id='r3' ip='198.51.100.51' port='20000'/></transport></content></jingle>`)
	must(t, "transport-info", err)
	if addr, _ := in.Remote(); addr != netip.MustParseAddrPort("198.51.100.51:20000") {
		t.Fatalf("remote after transport-info %v", addr)
	}
	_, err = set(head + `action='content-modify'><content creator='initiator' name='audio' senders='initiator'/></jingle>`)
	must(t, "content-modify", err)
	e, err := in.WaitInfo(withTimeout(t), isInfo("content-modify"))
	if err != nil || e.Attr("senders") != "initiator" || e.Attr("name") != "audio" {
		t.Fatalf("content-modify %+v %v", e, err)
	}
	_, err = set(head + `action='session-info'/>`)
	must(t, "ping", err)
	res, err = set(head + `action='session-info'><frobnicate xmlns='urn:example'/></jingle>`)
	jingleErr("unknown session-info", res, err, stanza.FeatureNotImplemented, "unsupported-info")
	res, err = set(`<jingle xmlns='urn:xmpp:jingle:1' sid='nope' action='session-terminate'><reason><success/></reason></jingle>`)
	jingleErr("unknown sid", res, err, stanza.ItemNotFound, "unknown-session")
	res, err = set(`<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate'/>`)
	if se := (*stanza.Error)(nil); !errors.As(err, &se) || se.Condition != stanza.BadRequest {
		t.Fatalf("jingle without sid: %v %s", err, res.Payload)
	}

	_, err = set(head + `action='session-terminate'><reason><busy/><text>486 Busy Here</text></reason></jingle>`)
	must(t, "session-terminate", err)
	if reason, err := in.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Busy || reason.Text != "486 Busy Here" {
		t.Fatalf("end %+v %v", reason, err)
	}
	_, err = set(head + `action='session-terminate'><reason><success/></reason></jingle>`)
	must(t, "a second session-terminate", err)
	res, err = set(head + `action='session-info'><hold xmlns='urn:xmpp:jingle:apps:rtp:info:1'/></jingle>`)
	jingleErr("session-info after the end", res, err, stanza.ItemNotFound, "unknown-session")

	// Offers the phone cannot accept: ICE only, no common codec.
	for _, offer := range []string{
		`<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>
		 <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'><candidate component='1' foundation='1' generation='0' id='i1' ip='192.0.2.1' port='3478' priority='1' protocol='udp' type='host'/></transport>`,
		`<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='9' name='G722' clockrate='8000'/></description>
		 <transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'><candidate component='1' generation='0' id='r1' ip='192.0.2.1' port='4000'/></transport>`,
	} {
		_, err := set(`<jingle xmlns='urn:xmpp:jingle:1' sid='` + phoneUUID() + `' action='session-initiate'><content creator='initiator' name='a'>` + offer + `</content></jingle>`)
		must(t, "session-initiate", err)
		in := incoming(t, bob)
		if err := in.Accept(withTimeout(t), bobMedia); err == nil {
			t.Fatalf("accepted %s", offer)
		}
		if in.Answer() != nil {
			t.Fatal("a failed Accept left an answer")
		}
	}
}

// TestPhoneNoGoroutineLeft: once its Client is closed, nothing of a phone
// keeps running.
func TestPhoneNoGoroutineLeft(t *testing.T) {
	base := leakcheck.Count()
	t.Run("call", TestPhoneDirectCall)
	if err := leakcheck.Settle(base, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

const phoneRouterDomain = "example.test"

// phoneRouter is a tiny c2s server on loopback TCP for the Phone tests:
// PLAIN with any password, resource binding, and routing between its
// clients: stamped from, full JIDs to that resource, bare JIDs to every
// resource, broadcast presence to everybody (all are subscribed to all),
// XEP-0280 carbons, and service-unavailable bounces for absent addressees.
// iq requests to the server itself (roster, carbons) get an empty result.
type phoneRouter struct {
	t     *testing.T
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[string]*phoneRouterConn // by full JID
}

type phoneRouterConn struct {
	jid     string
	conn    net.Conn
	wmu     sync.Mutex
	carbons bool // guarded by phoneRouter.mu
}

func newPhoneRouter(t *testing.T) *phoneRouter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &phoneRouter{t: t, ln: ln, conns: map[string]*phoneRouterConn{}}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			_ = c.conn.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *phoneRouter) addr() string { return r.ln.Addr().String() }

func (r *phoneRouter) accept() {
	defer r.wg.Done()
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go r.serve(conn)
	}
}

func (r *phoneRouter) serve(conn net.Conn) {
	defer r.wg.Done()
	defer conn.Close()
	c := &phoneRouterConn{conn: conn}
	dec, ok := r.login(c)
	if !ok {
		return
	}
	defer func() {
		r.mu.Lock()
		delete(r.conns, c.jid)
		r.mu.Unlock()
	}()
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var s stanza.Stanza
			if err := dec.DecodeElement(&s, &t); err != nil {
				return
			}
			r.route(c, &s)
		case xml.EndElement:
			c.write(`</stream:stream>`)
			return
		}
	}
}

// login plays the server side of SASL PLAIN and bind, and registers c.
func (r *phoneRouter) login(c *phoneRouterConn) (*xml.Decoder, bool) {
	header := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='` + stanza.NSStream +
		`' id='r1' from='` + phoneRouterDomain + `' version='1.0'>`
	dec := xml.NewDecoder(c.conn)
	if !phoneRouterHeader(dec) {
		return nil, false
	}
	c.write(header + `<stream:features><mechanisms xmlns='` + nsSASL + `'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`)
	var auth struct {
		Data string `xml:",chardata"`
	}
	if start, err := nextStart(dec); err != nil || dec.DecodeElement(&auth, &start) != nil {
		return nil, false
	}
	creds, _ := base64.StdEncoding.DecodeString(auth.Data)
	parts := bytes.Split(creds, []byte{0})
	if len(parts) != 3 {
		return nil, false
	}
	user := string(parts[1])
	c.write(`<success xmlns='` + nsSASL + `'/>`)
	dec = xml.NewDecoder(c.conn) // the client sends nothing between <auth/> and our <success/>
	if !phoneRouterHeader(dec) {
		return nil, false
	}
	c.write(header + `<stream:features><bind xmlns='` + nsBind + `'/></stream:features>`)
	var bind struct {
		ID       string `xml:"id,attr"`
		Resource string `xml:"bind>resource"`
	}
	if start, err := nextStart(dec); err != nil || dec.DecodeElement(&bind, &start) != nil {
		return nil, false
	}
	c.jid = user + "@" + phoneRouterDomain + "/" + bind.Resource
	r.mu.Lock()
	r.conns[c.jid] = c
	r.mu.Unlock()
	c.write(`<iq type='result' id='` + bind.ID + `'><bind xmlns='` + nsBind + `'><jid>` + c.jid + `</jid></bind></iq>`)
	return dec, true
}

func phoneRouterHeader(dec *xml.Decoder) bool {
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			return true
		}
	}
}

func (c *phoneRouterConn) write(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c.conn, s)
}

func (c *phoneRouterConn) send(s *stanza.Stanza) {
	b, _ := s.Marshal()
	c.write(string(b))
}

// resources are the connections of bare JID bare, but not except.
func (r *phoneRouter) resources(bare string, except *phoneRouterConn) []*phoneRouterConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*phoneRouterConn
	for jid, c := range r.conns {
		if c != except && (bare == "" || bareJID(jid) == bare) {
			out = append(out, c)
		}
	}
	return out
}

func (r *phoneRouter) route(from *phoneRouterConn, s *stanza.Stanza) {
	s.From = from.jid
	switch {
	case s.Kind() == stanza.KindPresence && s.To == "":
		for _, c := range r.resources("", from) {
			c.send(s)
		}
	case s.To == "" || s.To == phoneRouterDomain || (s.Kind() == stanza.KindIQ && s.To == bareJID(from.jid)):
		if s.IsIQRequest() {
			if name, ok := s.Element(nsCarbons); ok && name.Local == "enable" {
				r.mu.Lock()
				from.carbons = true
				r.mu.Unlock()
			}
			res, _ := stanza.Result(s)
			res.From = ""
			from.send(res)
		}
	case strings.Contains(s.To, "/"):
		r.mu.Lock()
		to := r.conns[s.To]
		r.mu.Unlock()
		if to == nil {
			r.bounce(from, s)
			return
		}
		to.send(s)
		r.carbons(s, "received", bareJID(s.To), to)
		r.carbons(s, "sent", bareJID(from.jid), from)
	default:
		targets := r.resources(s.To, nil)
		if len(targets) == 0 || s.Kind() == stanza.KindIQ {
			r.bounce(from, s)
			return
		}
		for _, c := range targets {
			c.send(s)
		}
		r.carbons(s, "sent", bareJID(from.jid), from)
	}
}

// carbons copies a chat message to the carbons-enabled resources of bare
// other than except (XEP-0280 §6 sent and received carbons).
func (r *phoneRouter) carbons(s *stanza.Stanza, kind, bare string, except *phoneRouterConn) {
	if s.Kind() != stanza.KindMessage || s.Type != "chat" {
		return
	}
	inner, _ := s.Marshal()
	inner = append([]byte(`<message xmlns="`+nsClient+`"`), inner[len("<message"):]...)
	for _, c := range r.resources(bare, except) {
		r.mu.Lock()
		enabled := c.carbons
		r.mu.Unlock()
		if enabled {
			c.write(`<message from="` + bare + `" to="` + c.jid + `" type="chat"><` + kind + ` xmlns="` + nsCarbons + `"><forwarded xmlns="` +
				nsForward + `">` + string(inner) + `</forwarded></` + kind + `></message>`)
		}
	}
}

// bounce answers a stanza whose addressee is absent, as servers do.
func (r *phoneRouter) bounce(from *phoneRouterConn, s *stanza.Stanza) {
	if s.Type == "error" || s.Type == "result" || s.Kind() == stanza.KindPresence {
		return
	}
	from.send(stanza.ErrorReply(s, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, "")))
}
