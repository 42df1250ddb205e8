package jinglesdp

import (
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

// directionRows is the table of protocol-map §3.2.1, one row per cell:
// the direction attribute the author writes for senders.
var directionRows = []struct {
	senders jingle.Senders
	author  jingle.Role
	dir     string
}{
	{jingle.SendersBoth, jingle.RoleInitiator, SendRecv},
	{jingle.SendersBoth, jingle.RoleResponder, SendRecv},
	{jingle.SendersInitiator, jingle.RoleInitiator, SendOnly},
	{jingle.SendersInitiator, jingle.RoleResponder, RecvOnly},
	{jingle.SendersResponder, jingle.RoleInitiator, RecvOnly},
	{jingle.SendersResponder, jingle.RoleResponder, SendOnly},
	{jingle.SendersNone, jingle.RoleInitiator, Inactive},
	{jingle.SendersNone, jingle.RoleResponder, Inactive},
}

func TestDirectionTable(t *testing.T) {
	for _, r := range directionRows {
		if got := DirectionFor(r.senders, r.author); got != r.dir {
			t.Errorf("DirectionFor(%s, %s) = %s, want %s", r.senders, r.author, got, r.dir)
		}
		if got := SendersFor(r.dir, r.author); got != r.senders {
			t.Errorf("SendersFor(%s, %s) = %s, want %s", r.dir, r.author, got, r.senders)
		}
	}
	if got := DirectionFor("", jingle.RoleResponder); got != SendRecv {
		t.Errorf("absent senders = %s, want sendrecv", got)
	}
	if got := SendersFor("", jingle.RoleInitiator); got != jingle.SendersBoth {
		t.Errorf("absent direction = %s, want both", got)
	}
}

// TestDirectionThroughSDP runs every §3.2.1 cell through ParseSDP and
// BuildSDP: the senders read from the attribute, and the attribute
// written back.
func TestDirectionThroughSDP(t *testing.T) {
	for _, r := range directionRows {
		m := mustParse(t, offer("m=audio 4000 RTP/AVP 0", "a="+r.dir), r.author, nil)
		if got := m.Contents[0].Senders; got != r.senders {
			t.Errorf("a=%s by %s parsed as senders=%s, want %s", r.dir, r.author, got, r.senders)
		}
		out := mustBuild(t, m.Contents, nil, r.author, nil)
		if !containsLine(out, "a="+r.dir) {
			t.Errorf("senders=%s by %s built without a=%s:\n%s", r.senders, r.author, r.dir, out)
		}
	}
}

func TestHoldResume(t *testing.T) {
	for _, c := range []struct{ in, hold, resume string }{
		{SendRecv, SendOnly, SendRecv},
		{"", SendOnly, SendRecv},
		{RecvOnly, Inactive, RecvOnly},
		{SendOnly, SendOnly, SendRecv},
		{Inactive, Inactive, RecvOnly},
	} {
		if got := HoldDirection(c.in); got != c.hold {
			t.Errorf("HoldDirection(%q) = %q, want %q", c.in, got, c.hold)
		}
		if got := ResumeDirection(c.in); got != c.resume {
			t.Errorf("ResumeDirection(%q) = %q, want %q", c.in, got, c.resume)
		}
	}
	// Holding then resuming gives back what was there.
	for _, d := range []string{SendRecv, RecvOnly} {
		if got := ResumeDirection(HoldDirection(d)); got != d {
			t.Errorf("resume(hold(%s)) = %s", d, got)
		}
	}
}
