package gateway

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenAnswers pins what clients see of the gateway: a change to the
// registration form, the disco answer or the command list shows up here as
// a diff to review (go test -run Golden -update to accept it).
func TestGoldenAnswers(t *testing.T) {
	cases := []struct{ name, request string }{
		{"disco-info", `<iq type="get" id="g" from="alice@example.test/a" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`},
		{"disco-items-commands", `<iq type="get" id="g" from="alice@example.test/a" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#items" node="http://jabber.org/protocol/commands"/></iq>`},
		{"register-form", `<iq type="get" id="g" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"/></iq>`},
		{"iq-gateway-prompt", `<iq type="get" id="g" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:gateway"/></iq>`},
		{"version", `<iq type="get" id="g" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:version"/></iq>`},
		{"registration-required", `<iq type="get" id="g" from="alice@example.test/a" to="bob\40example.org@sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.in(tc.request)
			got, err := h.reply("g").Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tc.name+".xml")
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != string(got)+"\n" {
				t.Fatalf("%s changed:\n got: %s\nwant: %s", tc.name, got, want)
			}
		})
	}
}
