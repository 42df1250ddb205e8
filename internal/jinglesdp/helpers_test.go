package jinglesdp

import (
	"bytes"
	"encoding/xml"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

// testOrigin is the o= of protocol-map §3.9 A2, so A1 renders to A2
// byte for byte.
var testOrigin = Origin{SessionID: 7309812546315007111, Version: 1, Address: netip.MustParseAddr("203.0.113.10")}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readJingle decodes a <jingle/>, bare or inside a captured <iq/>.
func readJingle(t testing.TB, name string) *jingle.Jingle {
	t.Helper()
	b := readFile(t, filepath.Join("jingle", name))
	var j jingle.Jingle
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("<jingle")) {
		if err := xml.Unmarshal(b, &j); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return &j
	}
	var iq struct {
		Jingle jingle.Jingle `xml:"urn:xmpp:jingle:1 jingle"`
	}
	if err := xml.Unmarshal(b, &iq); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &iq.Jingle
}

// withTransportInfo adds the candidates trickled in transport-info
// fixtures to the contents of j, as the call core collects them.
func withTransportInfo(t testing.TB, j *jingle.Jingle, infos ...string) *jingle.Jingle {
	t.Helper()
	for _, name := range infos {
		ti := readJingle(t, name)
		for _, c := range ti.Contents {
			target := j.Content(c.Name)
			if target == nil || target.Transport == nil || c.Transport == nil {
				t.Fatalf("%s: content %q has nowhere to go", name, c.Name)
			}
			target.Transport.Candidates = append(target.Transport.Candidates, c.Transport.Candidates...)
		}
	}
	return j
}

// crlf turns a readable LF fixture into what travels in SIP.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

func mustParse(t testing.TB, body []byte, author jingle.Role, names []string) *Media {
	t.Helper()
	m, err := ParseSDP(body, author, names)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustBuild(t testing.TB, contents []jingle.Content, g *jingle.Group, author jingle.Role, mirror *Media) string {
	t.Helper()
	b, err := BuildSDP(contents, g, author, testOrigin, mirror)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sdpOf builds an SDP body from LF-separated lines.
func sdpOf(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// audioContent is a minimal accepted audio content with a raw-UDP
// transport at ip:port.
func audioContent(name string, senders jingle.Senders, ip string, port uint16, pts ...jingle.PayloadType) jingle.Content {
	d := jingle.NewDescription("audio")
	d.PayloadTypes = pts
	t := jingle.NewTransport(jingle.NSRawUDP)
	t.Candidates = []jingle.Candidate{{Component: 1, ID: "x1", IP: ip, Port: port}}
	return jingle.Content{Creator: jingle.RoleInitiator, Name: name, Senders: senders, Description: d, Transport: t}
}

var (
	ptPCMU = jingle.PayloadType{ID: 0, Name: "PCMU", Clockrate: 8000}
	ptPCMA = jingle.PayloadType{ID: 8, Name: "PCMA", Clockrate: 8000}
	ptG722 = jingle.PayloadType{ID: 9, Name: "G722", Clockrate: 8000}
	ptOpus = jingle.PayloadType{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2}
	ptTE8  = jingle.PayloadType{ID: 101, Name: "telephone-event", Clockrate: 8000}
	ptTE48 = jingle.PayloadType{ID: 110, Name: "telephone-event", Clockrate: 48000}
	ptG729 = jingle.PayloadType{ID: 18, Name: "G729", Clockrate: 8000}
	ptCN   = jingle.PayloadType{ID: 13, Name: "CN", Clockrate: 8000}
	ptTE8b = jingle.PayloadType{ID: 126, Name: "telephone-event", Clockrate: 8000}
)

// containsLine reports whether the SDP body has exactly this line.
func containsLine(body, line string) bool {
	for l := range strings.SplitSeq(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if l == line {
			return true
		}
	}
	return false
}
