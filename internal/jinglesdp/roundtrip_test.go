package jinglesdp

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"fargo.dev/fargo/internal/jingle"
)

// comparable reduces contents to what survives Jingle → SDP → Jingle:
// payload types (with the implicit made explicit), parameters, feedback,
// senders, header extensions, sources, candidates minus their invented ids
// and TCP ones, fingerprints. Things SDP cannot say are cleared: creator,
// candidate id and network, the legacy description ssrc attribute, and a
// raw-UDP component 2 at RTP port+1, which SDP implies (RFC 3605).
func comparable(contents []jingle.Content) []jingle.Content {
	out := make([]jingle.Content, len(contents))
	for i, c := range contents {
		c.Creator, c.Disposition = "", ""
		c.Senders = c.Senders.Normalize()
		if d := c.Description; d != nil {
			nd := *d
			nd.SSRC = ""
			nd.PayloadTypes = nil
			for _, pt := range d.PayloadTypes {
				e := effective(pt, d.Media)
				e.Params = slices.Clone(e.Params)
				for j := range e.Params {
					if e.Params[j].Name == "events" {
						e.Params[j].Name = ""
					}
				}
				nd.PayloadTypes = append(nd.PayloadTypes, e)
			}
			nd.HdrExts = nil
			for _, h := range d.HdrExts {
				if h.Senders.Normalize() == jingle.SendersBoth {
					h.Senders = ""
				}
				nd.HdrExts = append(nd.HdrExts, h)
			}
			c.Description = &nd
		}
		if t := c.Transport; t != nil {
			nt := *t
			nt.Candidates = nil
			for _, cand := range t.Candidates {
				if cand.Protocol != "" && !strings.EqualFold(cand.Protocol, "udp") {
					continue
				}
				cand.ID, cand.Network = "", ""
				if t.IsICE() {
					cand.Protocol = "udp"
				} else if cand.Component == 2 && len(t.Candidates) > 0 && t.Candidates[0].Component == 1 &&
					cand.IP == t.Candidates[0].IP && cand.Port == t.Candidates[0].Port+1 {
					continue
				}
				nt.Candidates = append(nt.Candidates, cand)
			}
			c.Transport = &nt
		}
		out[i] = c
	}
	return out
}

// TestRoundTripJingle is the property Jingle → SDP → Jingle keeps payload
// types, parameters, senders, candidates and fingerprints, for every
// fixture and both authors.
func TestRoundTripJingle(t *testing.T) {
	fixtures := map[string]func(t *testing.T) *jingle.Jingle{
		"jsxc initiate": func(t *testing.T) *jingle.Jingle {
			return withTransportInfo(t, readJingle(t, "jsxc-01-session-initiate-from-caller.xml"),
				"jsxc-02-transport-info-from-caller.xml", "jsxc-03-transport-info-from-caller.xml",
				"jsxc-04-transport-info-from-caller.xml", "jsxc-05-transport-info-from-caller.xml")
		},
		"jsxc accept": func(t *testing.T) *jingle.Jingle {
			return withTransportInfo(t, readJingle(t, "jsxc-07-session-accept-from-callee.xml"), "jsxc-08-transport-info-from-callee.xml")
		},
		"conversations A1": func(t *testing.T) *jingle.Jingle { return readJingle(t, "conversations-a1-initiate.xml") },
		"dino B2":          func(t *testing.T) *jingle.Jingle { return readJingle(t, "dino-b2-accept.xml") },
		"pbx B1":           func(t *testing.T) *jingle.Jingle { return readJingle(t, "pbx-b1-expected.xml") },
		"A3":               func(t *testing.T) *jingle.Jingle { return readJingle(t, "webrtc-a3-expected.xml") },
	}
	for name, load := range fixtures {
		for _, author := range []jingle.Role{jingle.RoleInitiator, jingle.RoleResponder} {
			t.Run(name+" by "+string(author), func(t *testing.T) {
				j := load(t)
				out := mustBuild(t, j.Contents, j.Group, author, nil)
				names := make([]string, len(j.Contents))
				for i, c := range j.Contents {
					names[i] = c.Name
				}
				back := mustParse(t, []byte(out), author, names)
				if diff := cmp.Diff(comparable(j.Contents), comparable(back.Contents)); diff != "" {
					t.Errorf("round trip (-jingle +back):\n%s\n%s", diff, out)
				}
				if diff := cmp.Diff(j.Group, back.Group); diff != "" {
					t.Errorf("group (-jingle +back):\n%s", diff)
				}
			})
		}
	}
}

// TestRoundTripSDP is the other way round: every SDP fixture, rendered
// again as an offer, parses to the same contents (ids aside).
func TestRoundTripSDP(t *testing.T) {
	files, _ := filepath.Glob("testdata/sdp/*.sdp")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			author, names := sdpRole(name)
			m := mustParse(t, readFile(t, filepath.Join("sdp", name)), author, names)
			out := mustBuild(t, m.Contents, m.Group, author, nil)
			back := mustParse(t, []byte(out), author, m.Names())
			if diff := cmp.Diff(comparable(m.Contents), comparable(back.Contents)); diff != "" {
				t.Errorf("round trip (-first +second):\n%s\n%s", diff, out)
			}
			if back.Hold != m.Hold {
				t.Errorf("hold %v became %v", m.Hold, back.Hold)
			}
			// Answering the SDP with its own contents mirrors it.
			ans := mustBuild(t, m.Contents, m.Group, otherRole(author), m)
			if got := mustParse(t, []byte(ans), otherRole(author), m.Names()); len(got.Lines) != len(m.Lines) {
				t.Errorf("answer has %d m-lines, offer %d", len(got.Lines), len(m.Lines))
			}
		})
	}
}
