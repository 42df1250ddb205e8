package e2e

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

// stepEchoContactRawUDP calls the gateway's echo contact from a second
// device of alice's that offers raw UDP only (no ICE, no DTLS): the echo
// answers on the relay's raw-UDP leg and plays the tone back.
func stepEchoContactRawUDP(t *testing.T, e *callEnv) {
	c := e.srv.Login(t, "alice", testkit.Resource("desk"))
	if err := c.Presence(ctxT(t, 5*time.Second), "", "", "", ""); err != nil {
		t.Fatal(err)
	}
	phone, err := testkit.NewPhone(c, testkit.PhoneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rtp := rtpPeer(t)
	// Without JMI a client sends session-initiate to a full JID it saw
	// in presence: the echo is online as …/sip, like every contact.
	call, err := phone.Call(ctxT(t, 20*time.Second), "echo@"+e.domain+"/sip", rtp.Addr())
	if err != nil {
		t.Fatalf("call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := call.WaitAccepted(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("the echo did not answer: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	remote, ok := call.Remote()
	if !ok {
		t.Fatal("the echo's session-accept has no raw-UDP candidate")
	}
	if err := rtp.SendTone(ctxT(t, 10*time.Second), remote, payloadType(t, call), 900, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the raw-UDP device heard itself", rtp.Received(), 900)
	if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
}

// stepEchoContactChat subscribes to the echo contact (it approves and asks
// back) and sends it a message (it comes back).
func stepEchoContactChat(t *testing.T, e *callEnv) {
	echo := "echo@" + e.domain
	c := e.alice
	if err := c.Presence(ctxT(t, 5*time.Second), "subscribe", echo, "", ""); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"subscribed", "subscribe"} {
		if _, err := c.Expect(ctxT(t, 10*time.Second), func(s *stanza.Stanza) bool {
			return s.Kind() == stanza.KindPresence && s.Type == typ && strings.HasPrefix(s.From, echo)
		}); err != nil {
			t.Fatalf("no %s from the echo: %v", typ, err)
		}
	}
	msg, err := stanza.New(stanza.KindMessage, "chat", "", echo, "m-echo", struct {
		XMLName xml.Name `xml:"body"`
		Text    string   `xml:",chardata"`
	}{Text: "is this thing on? <3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctxT(t, 10*time.Second), func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && strings.HasPrefix(s.From, echo) && strings.Contains(string(s.Payload), "is this thing on? &lt;3")
	}); err != nil {
		t.Fatalf("the message did not come back: %v", err)
	}
}
