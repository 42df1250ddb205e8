package demo

import (
	"encoding/xml"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

func TestWipeOnlyOwnDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := wipe(dir); err != nil {
		t.Fatalf("new directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old.log"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := wipe(dir); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "old.log")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the second run left the first run's files")
	}
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := wipe(foreign); err == nil || !strings.Contains(err.Error(), "not a fargo demo directory") {
		t.Fatalf("wiped a directory the demo did not make: %v", err)
	}
}

func TestCheckPortsNamesTheTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	c := Default()
	c.C2SPort = taken
	c.ComponentPort, c.GatewaySIPPort, c.EchoSIP, c.HTTPPort, c.RelayMin, c.RelayMax = 0, 0, 0, 0, 0, 0
	c = c.withDefaults()
	c.ComponentPort, c.GatewaySIPPort, c.EchoSIP, c.HTTPPort = freePort(t), freePort(t), freePort(t), freePort(t)
	c.RelayMin, c.RelayMax = c.HTTPPort, c.HTTPPort-1 // no relay ports to check
	err = checkPorts(c)
	if err == nil || !strings.Contains(err.Error(), "XMPP client (Prosody c2s)") {
		t.Fatalf("got %v", err)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestConfigCheck(t *testing.T) {
	c := Default()
	c.RelayMax = c.RelayMin + 1
	if err := c.check(); err == nil {
		t.Fatal("accepted a relay range of 2 ports")
	}
	c = Default()
	c.HTTPPort = 70000
	if err := c.check(); err == nil {
		t.Fatal("accepted port 70000")
	}
	if err := Default().check(); err != nil {
		t.Fatal(err)
	}
}

func TestStepErrorNamesStepAndHint(t *testing.T) {
	err := error(&StepError{N: 3, Name: "start Prosody", Hint: "its logs", Err: errors.New("boom")})
	want := "demo failed at step 3 (start Prosody): boom; check: its logs"
	if err.Error() != want {
		t.Fatalf("got %q", err)
	}
}

func TestTranscriptSummaries(t *testing.T) {
	off := offer("alice@demo.test/demo", "sid1", mustAddrPort("127.0.0.1:4000"))
	s := &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "set", To: "echo@sip.demo.test", Payload: off}
	tr := &transcript{}
	tr.start()
	tr.record(true, s)
	tr.record(false, &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "set",
		Payload: []byte(`<query xmlns="jabber:iq:roster"/>`)})
	tr.record(false, &stanza.Stanza{XMLName: xml.Name{Local: "presence"}, From: "sip.demo.test"})
	lines := tr.stop()
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	for _, want := range []string{"→ iq set jingle session-initiate (PCMU/8000 telephone-event/8000; raw-udp 127.0.0.1:4000)", "echo@sip.demo.test"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("%q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], "← presence available  sip.demo.test") {
		t.Errorf("presence line %q", lines[1])
	}
	tr.record(true, s)
	if len(tr.stop()) != 2 {
		t.Error("recorded while stopped")
	}
}

func TestAnsweredNeedsRawUDPAndPCMU(t *testing.T) {
	var j jingle.Jingle
	if err := xml.Unmarshal(offer("a@b/c", "s", mustAddrPort("127.0.0.1:5000")), &j); err != nil {
		t.Fatal(err)
	}
	ap, codec, err := answered(&j)
	if err != nil || ap.String() != "127.0.0.1:5000" || codec != "PCMU/8000" {
		t.Fatalf("got %v %q %v", ap, codec, err)
	}
	j.Contents[0].Description.PayloadTypes = j.Contents[0].Description.PayloadTypes[1:]
	if _, _, err := answered(&j); err == nil {
		t.Fatal("accepted an answer without PCMU")
	}
}

func TestRegisterFormEscapes(t *testing.T) {
	form := string(registerForm(`127.0.0.1:1<&>`))
	if !strings.Contains(form, "127.0.0.1:1&lt;&amp;&gt;") {
		t.Fatalf("not escaped: %s", form)
	}
	var q struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal([]byte(form), &q); err != nil || q.XMLName.Space != "jabber:iq:register" {
		t.Fatalf("form %v: %s", err, form)
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
