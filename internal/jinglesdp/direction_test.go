package jinglesdp

import (
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

// directionRows is the table of protocol-map §3.2.1: senders and the
// direction attribute an initiator and a responder write for it.
var directionRows = []struct {
	senders             jingle.Senders
	byInitiator, byResp string
}{
	{jingle.SendersBoth, SendRecv, SendRecv},
	{jingle.SendersInitiator, SendOnly, RecvOnly},
	{jingle.SendersResponder, RecvOnly, SendOnly},
	{jingle.SendersNone, Inactive, Inactive},
}

func TestDirectionTable(t *testing.T) {
	for _, r := range directionRows {
		for _, c := range []struct {
			author jingle.Role
			dir    string
		}{{jingle.RoleInitiator, r.byInitiator}, {jingle.RoleResponder, r.byResp}} {
			if got := DirectionFor(r.senders, c.author); got != c.dir {
				t.Errorf("DirectionFor(%s, %s) = %s, want %s", r.senders, c.author, got, c.dir)
			}
			if got := SendersFor(c.dir, c.author); got != r.senders {
				t.Errorf("SendersFor(%s, %s) = %s, want %s", c.dir, c.author, got, r.senders)
			}
		}
	}
	if got := DirectionFor("", jingle.RoleResponder); got != SendRecv {
		t.Errorf("absent senders = %s, want sendrecv", got)
	}
	if got := SendersFor("", jingle.RoleInitiator); got != jingle.SendersBoth {
		t.Errorf("absent direction = %s, want both", got)
	}
}

// TestDirectionThroughSDP runs every §3.2.1 row through ParseSDP and
// BuildSDP for both authors: the attribute on the wire and the senders
// read back.
func TestDirectionThroughSDP(t *testing.T) {
	for _, r := range directionRows {
		for _, c := range []struct {
			author jingle.Role
			dir    string
		}{{jingle.RoleInitiator, r.byInitiator}, {jingle.RoleResponder, r.byResp}} {
			body := sdpOf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
				"m=audio 4000 RTP/AVP 0", "a="+c.dir)
			m := mustParse(t, body, c.author, nil)
			if got := m.Contents[0].Senders; got != r.senders {
				t.Errorf("a=%s by %s parsed as senders=%s, want %s", c.dir, c.author, got, r.senders)
			}
			out := mustBuild(t, m.Contents, nil, c.author, nil)
			if !containsLine(out, "a="+c.dir) {
				t.Errorf("senders=%s by %s built without a=%s:\n%s", r.senders, c.author, c.dir, out)
			}
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
