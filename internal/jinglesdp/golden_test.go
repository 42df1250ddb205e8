package jinglesdp

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with
// -update (go test ./internal/jinglesdp -run Golden -args -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -args -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s changed:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// sdpRole says who wrote each SDP fixture: SIP offers come from the
// caller (the Jingle initiator), answers from the callee. Answers to a
// Jingle offer echo its content names.
func sdpRole(name string) (jingle.Role, []string) {
	if !strings.HasSuffix(name, "-answer.sdp") {
		return jingle.RoleInitiator, nil
	}
	switch name {
	case "webrtc-a3-answer.sdp":
		return jingle.RoleResponder, []string{"0"}
	default:
		return jingle.RoleResponder, []string{"audio"}
	}
}

// goldenMedia renders a Media for review: the Jingle stanza the gateway
// would send plus what Jingle cannot hold.
type goldenMedia struct {
	XMLName  xml.Name     `xml:"media"`
	Session  uint64       `xml:"session-id,attr"`
	Version  uint64       `xml:"session-version,attr"`
	Hold     bool         `xml:"hold,attr,omitempty"`
	Lines    []goldenLine `xml:"m-line"`
	Warnings []string     `xml:"warning"`
	Jingle   jingle.Jingle
}

type goldenLine struct {
	Media    string `xml:"media,attr"`
	Proto    string `xml:"proto,attr"`
	Mid      string `xml:"mid,attr,omitempty"`
	Port     int    `xml:"port,attr"`
	Formats  string `xml:"formats,attr"`
	Rejected bool   `xml:"rejected,attr,omitempty"`
}

func renderMedia(t *testing.T, m *Media, author jingle.Role) []byte {
	t.Helper()
	action := jingle.ActionSessionInitiate
	if author == jingle.RoleResponder {
		action = jingle.ActionSessionAccept
	}
	g := goldenMedia{Session: m.SessionID, Version: m.SessionVersion, Hold: m.Hold, Warnings: m.Warnings,
		Jingle: jingle.Jingle{Action: action, SID: "golden", Contents: m.Contents, Group: m.Group}}
	for _, l := range m.Lines {
		g.Lines = append(g.Lines, goldenLine{l.Media, l.Proto, l.Mid, l.Port, strings.Join(l.Formats, " "), l.Rejected})
	}
	b, err := xml.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGoldenParse pins the Jingle every SIP SDP fixture becomes.
func TestGoldenParse(t *testing.T) {
	files, _ := filepath.Glob("testdata/sdp/*.sdp")
	if len(files) < 15 {
		t.Fatalf("SDP fixtures missing: %v", files)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			author, names := sdpRole(name)
			m := mustParse(t, crlf(readFile(t, filepath.Join("sdp", name))), author, names)
			golden(t, strings.TrimSuffix(name, ".sdp")+".xml", renderMedia(t, m, author))
		})
	}
}

// TestGoldenBuild pins the SDP every Jingle fixture becomes, offers and
// answers to SIP offers.
func TestGoldenBuild(t *testing.T) {
	cases := []struct {
		name   string
		j      func(t *testing.T) *jingle.Jingle
		author jingle.Role
		mirror string // SDP offer being answered, if any
	}{
		{"jsxc-session-initiate", func(t *testing.T) *jingle.Jingle {
			return withTransportInfo(t, readJingle(t, "jsxc-01-session-initiate-from-caller.xml"),
				"jsxc-02-transport-info-from-caller.xml", "jsxc-03-transport-info-from-caller.xml",
				"jsxc-04-transport-info-from-caller.xml", "jsxc-05-transport-info-from-caller.xml")
		}, jingle.RoleInitiator, ""},
		{"jsxc-session-accept", func(t *testing.T) *jingle.Jingle {
			return withTransportInfo(t, readJingle(t, "jsxc-07-session-accept-from-callee.xml"), "jsxc-08-transport-info-from-callee.xml")
		}, jingle.RoleResponder, ""},
		{"conversations-a1-initiate", func(t *testing.T) *jingle.Jingle {
			return readJingle(t, "conversations-a1-initiate.xml")
		}, jingle.RoleInitiator, ""},
		{"dino-b2-accept-to-pbx-b1", func(t *testing.T) *jingle.Jingle {
			return readJingle(t, "dino-b2-accept.xml")
		}, jingle.RoleResponder, "pbx-b1-offer.sdp"},
		{"audio-only-accept-to-t38-video", func(*testing.T) *jingle.Jingle {
			return &jingle.Jingle{Contents: []jingle.Content{
				audioContent("audio", jingle.SendersBoth, "192.0.2.99", 53012, ptPCMU, ptTE8),
				{Name: "video", Senders: jingle.SendersNone, Description: jingle.NewDescription("video")},
			}}
		}, jingle.RoleResponder, "t38-video-offer.sdp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := tc.j(t)
			var mirror *Media
			if tc.mirror != "" {
				mirror = mustParse(t, readFile(t, filepath.Join("sdp", tc.mirror)), jingle.RoleInitiator, nil)
			}
			out := mustBuild(t, j.Contents, j.Group, tc.author, mirror)
			// Check the output is SDP we read back before pinning it.
			mustParse(t, []byte(out), tc.author, nil)
			golden(t, tc.name+".sdp", []byte(out))
		})
	}
}

// TestGoldenFilesAreUsed catches golden files left behind by a renamed
// fixture.
func TestGoldenFilesAreUsed(t *testing.T) {
	sdps, _ := filepath.Glob("testdata/sdp/*.sdp")
	goldens, _ := filepath.Glob("testdata/golden/*")
	if want := len(sdps) + 5; len(goldens) != want && !*update {
		t.Errorf("%d golden files, want %d (%d SDP fixtures + 5 builds): remove stale ones", len(goldens), want, len(sdps))
	}
}
