package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

func iq(typ, to, payload string) *stanza.Stanza {
	return &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: typ, To: to, Payload: []byte(payload)}
}

// transcript keeps a one-line summary of every call-related stanza alice's
// client sends or receives while recording (testkit.Logf feeds it).
type transcript struct {
	mu    sync.Mutex
	on    bool
	since time.Time
	lines []string
}

func newTranscript() *transcript { return &transcript{} }

func (t *transcript) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on, t.since, t.lines = true, time.Now(), nil
}

func (t *transcript) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = false
}

// logf receives testkit.Client's "xmpp %s SEND %s" and "xmpp %s RECV %s".
func (t *transcript) logf(format string, args ...any) {
	if len(args) != 2 || !strings.HasPrefix(format, "xmpp ") {
		return
	}
	arrow := "→"
	if strings.Contains(format, "RECV") {
		arrow = "←"
	}
	var raw []byte
	switch v := args[1].(type) {
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return
	}
	if line := summarize(raw, arrow == "←"); line != "" {
		ms := time.Since(t.since).Milliseconds()
		t.lines = append(t.lines, fmt.Sprintf("%6d ms  %s %s", ms, arrow, line))
	}
}

func (t *transcript) print(title string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	say("   %s:", title)
	for _, l := range t.lines {
		say("     %s", l)
	}
}

// summarize describes a Jingle or JMI stanza in one line; "" for others.
func summarize(raw []byte, received bool) string {
	var s stanza.Stanza
	if err := xml.Unmarshal(raw, &s); err != nil {
		return ""
	}
	peer := s.To
	if received {
		peer = s.From
	}
	switch s.Kind() {
	case stanza.KindMessage:
		name, ok := s.Element(jingle.NSJMI)
		if !ok {
			return ""
		}
		return fmt.Sprintf("message JMI <%s/> %s", name.Local, short(peer))
	case stanza.KindIQ:
		var j jingle.Jingle
		if _, err := s.Decode(jingle.NS, "jingle", &j); err != nil || j.Action == "" {
			if s.Type == "error" {
				return fmt.Sprintf("iq error %v %s", stanza.ParseError(&s), short(peer))
			}
			return ""
		}
		return fmt.Sprintf("jingle %s%s %s", j.Action, jingleDetail(&j), short(peer))
	}
	return ""
}

// jingleDetail names what matters in an action: the codecs and the media
// address of an offer or answer, the info of a session-info, the reason of
// a terminate.
func jingleDetail(j *jingle.Jingle) string {
	var parts []string
	for _, c := range j.Contents {
		if c.Description != nil {
			var names []string
			for _, pt := range c.Description.PayloadTypes {
				names = append(names, pt.Name)
			}
			parts = append(parts, strings.Join(names, ","))
		}
		if c.Transport != nil {
			for _, cand := range c.Transport.Candidates {
				parts = append(parts, fmt.Sprintf("%s:%d", cand.IP, cand.Port))
			}
		}
	}
	if info, ok := j.SessionInfo(); ok {
		parts = append(parts, "<"+info.XMLName.Local+"/>")
	}
	if r := j.Reason; r != nil {
		parts = append(parts, "reason "+string(r.Condition))
		if r.Text != "" {
			parts = append(parts, fmt.Sprintf("%q", r.Text))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}

// short drops the resource of a full JID, which is long and random for
// the gateway's call JIDs.
func short(jid string) string {
	if bare, res, ok := strings.Cut(jid, "/"); ok && len(res) > 12 {
		return bare + "/…"
	}
	return jid
}

// sipTrace reads the SIP messages baresip logged (its siptrace) from the
// end its log had when the trace was made.
type sipTrace struct {
	log    string
	offset int64
	self   string // baresip's own "127.0.0.1:port"
}

func newSIPTrace(dir string, sipPort int) *sipTrace {
	log := filepath.Join(dir, "baresip.log")
	var off int64
	if fi, err := os.Stat(log); err == nil {
		off = fi.Size()
	}
	return &sipTrace{log: log, offset: off, self: fmt.Sprintf("127.0.0.1:%d", sipPort)}
}

// traceHeader is baresip's line before each message: "UDP a -> b".
var traceHeader = regexp.MustCompile(`^(UDP|TCP|TLS) (\S+) -> (\S+)$`)

func (t *sipTrace) print(title string) {
	say("   %s:", title)
	b, err := os.ReadFile(t.log)
	if err != nil || int64(len(b)) < t.offset {
		say("     (cannot read %s: %v)", t.log, err)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b[t.offset:]))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		m := traceHeader.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil || !sc.Scan() {
			continue
		}
		first := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(first, "REGISTER ") || strings.Contains(first, "OPTIONS ") {
			continue
		}
		arrow := "← " + m[2]
		if m[2] == t.self {
			arrow = "→ " + m[3]
		}
		say("     %s %s: %s", arrow, m[1], strings.TrimSuffix(first, " SIP/2.0"))
	}
}
