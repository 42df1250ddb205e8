package disco

import (
	"encoding/xml"
	"strings"
	"testing"
)

// TestCapsVerXEP0115Example is the simple generation example of XEP-0115
// §5.2.
func TestCapsVerXEP0115Example(t *testing.T) {
	got := CapsVer([]Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}}, []string{
		"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
		"http://jabber.org/protocol/muc", "http://jabber.org/protocol/caps",
	})
	if want := "QgayPKawpkPSDYmwT/WM94uAlu0="; got != want {
		t.Fatalf("ver %q, want %q", got, want)
	}
}

func TestCapsVerOrderAndLang(t *testing.T) {
	a := CapsVer([]Identity{{Category: "client", Type: "pc"}, {Category: "client", Type: "bot", Lang: "en"}}, []string{"b", "a"})
	b := CapsVer([]Identity{{Category: "client", Type: "bot", Lang: "en"}, {Category: "client", Type: "pc"}}, []string{"a", "b"})
	if a != b {
		t.Fatalf("order changed the ver: %s %s", a, b)
	}
	if c := CapsVer([]Identity{{Category: "client", Type: "pc"}, {Category: "client", Type: "bot"}}, []string{"a", "b"}); c == a {
		t.Fatal("the identity's xml:lang is not hashed")
	}
}

func TestInfoWire(t *testing.T) {
	out, err := xml.Marshal(NewInfo("n#v", []Identity{{Category: "client", Type: "bot", Name: "echo"}}, []string{NSInfo}))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`<query xmlns="http://jabber.org/protocol/disco#info" node="n#v">`, `<identity category="client" type="bot" name="echo"></identity>`, `<feature var="http://jabber.org/protocol/disco#info"></feature>`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	var back Info
	if err := xml.Unmarshal(out, &back); err != nil || back.Identities[0].Name != "echo" || back.Features[0].Var != NSInfo {
		t.Fatalf("round trip %+v %v", back, err)
	}
}
