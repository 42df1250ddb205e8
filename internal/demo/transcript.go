package demo

import (
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// transcript keeps a one-line summary of each stanza the client sends or
// receives while it records: what a reader needs to follow the signalling.
type transcript struct {
	mu    sync.Mutex
	on    bool
	since time.Time
	lines []string
}

// start begins a new recording.
func (t *transcript) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on, t.since, t.lines = true, time.Now(), nil
}

// stop ends the recording and returns its lines.
func (t *transcript) stop() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = false
	return t.lines
}

func (t *transcript) record(sent bool, s *stanza.Stanza) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return
	}
	line := summarize(s, sent)
	if line == "" {
		return
	}
	arrow, peer := "←", s.From
	if sent {
		arrow, peer = "→", s.To
	}
	if peer == "" && sent {
		peer = "(to her contacts)"
	}
	t.lines = append(t.lines, fmt.Sprintf("%6d ms %s %s  %s", time.Since(t.since).Milliseconds(), arrow, line, short(peer)))
}

// summarize describes a stanza in a few words; "" for what a reader does
// not need (roster pushes, pings).
func summarize(s *stanza.Stanza, sent bool) string {
	switch s.Kind() {
	case stanza.KindPresence:
		typ := s.Type
		if typ == "" {
			typ = "available"
		}
		return "presence " + typ
	case stanza.KindIQ:
		return summarizeIQ(s)
	case stanza.KindMessage:
		if name, ok := s.Element(jingle.NSJMI); ok {
			return "message JMI <" + name.Local + "/>"
		}
		var body struct {
			Body string `xml:"body"`
		}
		_ = xml.Unmarshal(append(append([]byte("<m>"), s.Payload...), "</m>"...), &body)
		if body.Body != "" {
			return fmt.Sprintf("message %q", firstLine(body.Body))
		}
	}
	return ""
}

func summarizeIQ(s *stanza.Stanza) string {
	var j jingle.Jingle
	if ok, err := s.Decode(jingle.NS, "jingle", &j); ok && err == nil {
		return "iq " + s.Type + " jingle " + string(j.Action) + jingleDetail(&j)
	}
	if s.Type == "error" {
		return "iq error: " + stanza.ParseError(s).Error()
	}
	name, ok := s.Element("")
	switch {
	case ok && name.Space == "jabber:iq:roster":
		return ""
	case ok && name.Space == "jabber:iq:register":
		return "iq " + s.Type + " register (XEP-0077 form)"
	case ok && name.Space == "urn:xmpp:ping":
		return ""
	case ok:
		return "iq " + s.Type + " " + name.Space + " " + name.Local
	case s.Type == "result":
		return "iq result"
	}
	return ""
}

// jingleDetail names what matters in an action: codecs and media address
// of an offer or answer, the info of a session-info, the reason of a
// terminate.
func jingleDetail(j *jingle.Jingle) string {
	var parts []string
	for _, c := range j.Contents {
		if d := c.Description; d != nil {
			var names []string
			for _, pt := range d.PayloadTypes {
				names = append(names, fmt.Sprintf("%s/%d", pt.Name, pt.Clockrate))
			}
			parts = append(parts, strings.Join(names, " "))
		}
		if t := c.Transport; t != nil {
			kind := "raw-udp"
			if t.IsICE() {
				kind = "ice-udp"
			}
			for _, cand := range t.Candidates {
				kind += fmt.Sprintf(" %s:%d", cand.IP, cand.Port)
			}
			parts = append(parts, kind)
		}
	}
	if info, ok := j.SessionInfo(); ok {
		parts = append(parts, "<"+info.XMLName.Local+"/>")
	}
	if r := j.Reason; r != nil {
		reason := "reason " + string(r.Condition)
		if r.Text != "" {
			reason += fmt.Sprintf(" %q", r.Text)
		}
		parts = append(parts, reason)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// short drops a long resource (the gateway's call JIDs carry random ones).
func short(jid string) string {
	if bare, res, ok := strings.Cut(jid, "/"); ok && len(res) > 12 {
		return bare + "/…"
	}
	return jid
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 60 {
		line = line[:60] + "…"
	}
	return line
}
