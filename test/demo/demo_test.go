package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/testkit"
)

// TestDemoPhones runs scripts/demo-phones.sh as a newcomer would and
// checks that it reports success: it builds the binaries, starts its own
// peers on the 7xxx ports and stops them again.
func TestDemoPhones(t *testing.T) {
	testkit.RequirePeer(t, "demo", "prosody", "kamailio", "baresip", "setpriv", "ss")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "demo-phones.sh"))
	cmd.Dir = root
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil || !strings.Contains(out.String(), "demo finished:") {
		t.Fatalf("scripts/demo-phones.sh: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	for _, want := range []string{"alice heard 440 Hz", "baresip recorded 1000 Hz", "baresip recorded 600 Hz", "jingle session-accept", "INVITE sip:", "alice heard 800 Hz back", "transport-info"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
