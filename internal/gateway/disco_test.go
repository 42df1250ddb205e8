package gateway

import "testing"

// The simple example of XEP-0115 §5.2.
func TestCapsVerificationString(t *testing.T) {
	got := computeCaps([]identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}},
		[]string{"http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/caps"})
	if got.ver != "QgayPKawpkPSDYmwT/WM94uAlu0=" {
		t.Fatalf("ver %q", got.ver)
	}
}
