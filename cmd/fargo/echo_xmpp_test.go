package main

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fargo.dev/fargo/internal/xmpp"
)

func TestEchoFlags(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := []string{"--jid", "echo@example.net", "--password-file", pw, "--announce", "192.0.2.7"}
	with := func(extra ...string) []string { return append(append([]string{"echo"}, ok...), extra...) }
	cases := []cliCase{
		{"help lists echo", []string{"help"}, 0, "echo --jid"},
		{"bad flag", []string{"echo", "--nope"}, 2, "flag provided but not defined"},
		{"no jid", []string{"echo", "--password-file", pw, "--announce", "192.0.2.7"}, 1, "--jid is required"},
		{"jid without domain", []string{"echo", "--jid", "echo", "--password-file", pw, "--announce", "192.0.2.7"}, 1, "want user@domain"},
		{"no password file", []string{"echo", "--jid", "echo@example.net", "--announce", "192.0.2.7"}, 1, "--password-file is required"},
		{"missing password file", []string{"echo", "--jid", "echo@example.net", "--password-file", filepath.Join(dir, "none"), "--announce", "192.0.2.7"}, 1, "password file"},
		{"empty password file", []string{"echo", "--jid", "echo@example.net", "--password-file", empty, "--announce", "192.0.2.7"}, 1, "is empty"},
		{"wildcard needs announce", []string{"echo", "--jid", "echo@example.net", "--password-file", pw}, 1, "--announce is required"},
		{"bad announce", with("--announce", "somewhere"), 1, "--announce"},
		{"bad bind", with("--media-bind", "eth0"), 1, "--media-bind"},
		{"bad tls", with("--tls", "maybe"), 1, "--tls"},
		{"bad server", with("--server", "example.net"), 1, "want host:port"},
		{"bad ports", with("--port-min", "50000", "--port-max", "50001"), 1, "--port-min"},
		{"bad max calls", with("--max-calls", "0"), 1, "--max-calls"},
		{"bad duration", with("--max-call-duration", "-1s"), 1, "--max-call-duration"},
		{"bad log level", with("--log-level", "loud"), 2, "--log-level"},
		{"extra args", with("now"), 2, "unexpected arguments"},
	}
	runCLICases(t, cases)
}

func TestEchoFlagsParsed(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, _, err := parseEchoFlags([]string{"--jid", "echo@example.net", "--password-file", pw,
		"--media-bind", "127.0.0.1", "--tls", "disabled", "--server", "localhost:5222", "--resource", "bot",
		"--port-min", "25600", "--port-max", "25609", "--max-calls", "3", "--max-call-duration", "1m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := echoOptions{
		login:  xmpp.ClientLogin{JID: "echo@example.net/bot", Password: "s3cret", TLS: xmpp.TLSDisabled},
		server: "localhost:5222", bind: netip.MustParseAddr("127.0.0.1"), announce: netip.MustParseAddr("127.0.0.1"),
		portMin: 25600, portMax: 25609, maxCalls: 3, maxCallDuration: time.Minute,
	}
	if o != want {
		t.Fatalf("options %+v\nwant    %+v", o, want)
	}
	o, _, err = parseEchoFlags([]string{"--jid", "echo@example.net/mine", "--password-file", pw, "--announce", "192.0.2.7"}, io.Discard)
	if err != nil || o.login.JID != "echo@example.net/mine" || o.login.TLS != xmpp.TLSRequired || o.announce.String() != "192.0.2.7" {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}
