package stanza

import (
	"encoding/xml"
	"strings"
	"testing"
)

func mustParse(t *testing.T, raw string) *Stanza {
	t.Helper()
	var s Stanza
	if err := xml.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestMarshalRoundTrip(t *testing.T) {
	cases := []struct{ name, raw, want string }{
		{"empty presence", `<presence from="a@b/c" to="gw"/>`, `<presence from="a@b/c" to="gw"/>`},
		{"attribute escaping", `<message id="x&amp;y" to="a&lt;b" type="chat"><body>hi</body></message>`, `<message id="x&amp;y" type="chat" to="a&lt;b"><body>hi</body></message>`},
		{"payload kept raw", `<iq type="get" id="1"><query xmlns="urn:x"><a b="c"/></query></iq>`, `<iq id="1" type="get"><query xmlns="urn:x"><a b="c"/></query></iq>`},
		{"xml:lang", `<presence xml:lang="en" to="gw"/>`, `<presence to="gw" xml:lang="en"/>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := mustParse(t, tc.raw).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestErrorReplySwapsAddressesAndDropsPayload(t *testing.T) {
	req := mustParse(t, `<iq type="set" id="r1" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"><password>secret</password></query></iq>`)
	e := &Error{Type: TypeModify, Condition: NotAcceptable, Text: "bad <field>", App: []byte(`<x xmlns="urn:app"/>`)}
	reply := ErrorReply(req, e)
	b, _ := reply.Marshal()
	s := string(b)
	for _, want := range []string{`type="error"`, `id="r1"`, `from="sip.example.test"`, `to="alice@example.test/a"`,
		`<error type="modify"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>`, `bad &lt;field&gt;`, `<x xmlns="urn:app"/>`} {
		if !strings.Contains(s, want) {
			t.Errorf("reply lacks %s: %s", want, s)
		}
	}
	if strings.Contains(s, "secret") {
		t.Error("error reply echoes the request payload")
	}
	back := ParseError(mustParse(t, s))
	if back == nil || back.Condition != NotAcceptable || back.Type != TypeModify || back.Text != "bad <field>" {
		t.Fatalf("parse back: %+v", back)
	}
}

func TestParseError(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		want *Error
	}{
		{"not an error", `<iq type="result" id="1"/>`, nil},
		{"condition and text", `<iq type="error" id="1"><error type="auth"><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">no</text></error></iq>`,
			&Error{Type: TypeAuth, Condition: NotAuthorized, Text: "no"}},
		{"component namespace", `<presence type="error" xmlns="jabber:component:accept"><error type="cancel"><gone xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`,
			&Error{Type: TypeCancel, Condition: Gone}},
		{"no error element", `<message type="error" id="1"/>`, &Error{Type: TypeCancel, Condition: UndefinedCondition}},
		{"app condition ignored", `<iq type="error"><error type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><bad-sessionid xmlns="http://jabber.org/protocol/commands"/></error></iq>`,
			&Error{Type: TypeModify, Condition: BadRequest}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseError(mustParse(t, tc.raw))
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("got %+v, want nil", got)
			case tc.want != nil && (got == nil || got.Type != tc.want.Type || got.Condition != tc.want.Condition || got.Text != tc.want.Text):
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeAndElement(t *testing.T) {
	s := mustParse(t, `<iq type="get" id="1"><other xmlns="urn:o"/><query xmlns="urn:q" node="n"><query xmlns="urn:q" node="inner"/></query></iq>`)
	var q struct {
		Node string `xml:"node,attr"`
	}
	found, err := s.Decode("urn:q", "query", &q)
	if !found || err != nil || q.Node != "n" {
		t.Fatalf("Decode: %v %v %+v", found, err, q)
	}
	if found, _ := s.Decode("urn:none", "query", &q); found {
		t.Fatal("found a missing element")
	}
	if n, ok := s.Element(""); !ok || n.Local != "other" {
		t.Fatalf("Element: %v %v", n, ok)
	}
	if n, ok := s.Element("urn:q"); !ok || n.Local != "query" {
		t.Fatalf("Element(urn:q): %v %v", n, ok)
	}
}

func TestNewRejectsUnmarshallablePayload(t *testing.T) {
	if _, err := New(KindMessage, "", "a", "b", "", make(chan int)); err == nil {
		t.Fatal("no error for a payload xml cannot encode")
	}
}

// appender encodes itself both ways; New must take its AppendXML.
type appender struct{ name string }

func (a appender) AppendXML(b []byte) []byte { return append(b, "<"+a.name+"/>"...) }

func (a appender) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement("", xml.StartElement{Name: xml.Name{Local: "slow"}})
}

func TestNewAppendsAppenders(t *testing.T) {
	type other struct {
		XMLName xml.Name `xml:"urn:o other"`
	}
	s, err := New(KindIQ, "set", "a", "b", "1", []byte("<raw/>"), appender{"fast"}, other{}, nil, &appender{"ptr"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `<raw/><fast/><other xmlns="urn:o"></other><ptr/>`; string(s.Payload) != want {
		t.Fatalf("payload %s, want %s", s.Payload, want)
	}
}
